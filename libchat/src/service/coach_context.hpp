// The initial context of a seed 004 coach session: the user's resume and the
// job, each within its own token budget. Private to libchat; a pure function.
//
// Format (the sections of an empty profile are left out; a profile with no
// sections at all reads "(no resume on file)"):
//
//   <CoachOptions::preamble>
//
//   ## Resume
//   ### Work history
//   - title: Engineer; company: Acme; start: 2020
//   ### Skills
//   C++, SQL
//   ### Projects
//   - ...
//   ### Education
//   - ...
//
//   ## Job: <subject title>
//   <subject description>
//
// An entry that is a JSON object renders as "key: value" pairs in the order
// the profile holds them (put_profile normalizes JSON, which sorts keys),
// joined by "; " (arrays of scalars joined by ", ", nested objects as
// compact JSON); a string entry as itself; newlines inside entries become
// spaces, so the resume never contains the line that starts the job section.
// The resume part (from "## Resume") is truncated to resume_tokens and the
// job part (from "## Job:") to job_tokens with truncate_to_tokens(): the
// sections come in the order above, so what a tight budget drops first is
// education, then projects.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "chat/coach.hpp"
#include "chat/token_counter.hpp"
#include "chat/types.hpp"

namespace chat::detail {

inline constexpr std::string_view kCoachJobHeading = "\n\n## Job: ";

struct CoachContext {
  std::string text;  // the initial_context
  std::int64_t resume_tokens = 0;
  std::int64_t job_tokens = 0;
  bool resume_truncated = false;
  bool job_truncated = false;
};

// The resume part alone ("## Resume\n..."), untruncated.
std::string render_resume(const Profile& p);

CoachContext build_coach_context(const Profile& p, const Subject& job, const CoachOptions& o,
                                 const TokenCounter& counter);

// The parts of an initial_context in the format above: `resume` from
// "## Resume" up to the job heading, `job` from "## Job:" to the end. A text
// without the job heading is all resume (from "## Resume" when present);
// resume entries never contain the heading (newlines become spaces).
struct CoachContextParts {
  std::string resume;
  std::string job;
};
CoachContextParts split_coach_context(std::string_view text);

}  // namespace chat::detail
