// Seed 004 context sections: token-budgeted truncation and the coach initial context.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "service/coach_context.hpp"
#include "service/context_window.hpp"
#include "service/service_fixture.hpp"

using namespace svc_test;

// The estimating counter: ceil(bytes / 4); every budget below is computed by hand from it.
TEST_CASE("truncate_to_tokens: sentence and line ends, exact budgets", "[context]") {
  auto counter = make_estimating_token_counter();
  const std::string text = "One two. Three four. Five six.\nSeven.";  // 37 bytes: 10 tokens
  using chat::detail::truncate_to_tokens;
  auto whole = truncate_to_tokens(text, 10, *counter);
  CHECK(whole.text == text);
  CHECK_FALSE(whole.truncated);
  // 9 tokens = 36 bytes: the first line (30) + "\n[...]" (6).
  auto nine = truncate_to_tokens(text, 9, *counter);
  CHECK(nine.text == "One two. Three four. Five six.\n[...]");
  CHECK(nine.truncated);
  CHECK(counter->count(nine.text) == 9);
  // 8 tokens = 32 bytes: the line no longer fits; two sentences (20) + mark = 26 bytes.
  CHECK(truncate_to_tokens(text, 8, *counter).text == "One two. Three four.\n[...]");
  // 4 tokens = 16 bytes: one sentence (8) + mark = 14 bytes.
  CHECK(truncate_to_tokens(text, 4, *counter).text == "One two.\n[...]");
  // 3 tokens = 12 bytes: no sentence fits; a character cut "One tw" (6) + mark.
  CHECK(truncate_to_tokens(text, 3, *counter).text == "One tw\n[...]");
  // 1 token: not even the mark fits.
  auto none = truncate_to_tokens(text, 1, *counter);
  CHECK(none.text.empty());
  CHECK(none.truncated);
  // A character cut never splits a UTF-8 sequence: "ééééé" is 10 bytes.
  auto utf = truncate_to_tokens("ééééé", 2, *counter);  // 8 bytes: "é" (2) + mark (6)
  CHECK(utf.text == "é\n[...]");
}

TEST_CASE("coach context: format, sections in priority order, budgets", "[context][seed004]") {
  auto counter = make_estimating_token_counter();
  Profile p;
  p.work_history = R"([{"title":"Engineer","company":"Acme","start":"2020","description":"Built\nthings"}])";
  p.skills = R"(["C++","SQL"])";
  p.projects = R"(["chatd"])";
  p.education = "[]";
  Subject job;
  job.id = "42";
  job.title = "Backend Engineer";
  job.description = "We need C++. And SQL.";
  CoachOptions o;
  o.preamble = "Coach.";
  auto c = chat::detail::build_coach_context(p, job, o, *counter);
  CHECK(c.text ==
        "Coach.\n\n"
        "## Resume\n"
        "### Work history\n"
        "- title: Engineer; company: Acme; start: 2020; description: Built things\n"
        "### Skills\n"
        "C++, SQL\n"
        "### Projects\n"
        "- chatd\n\n"
        "## Job: Backend Engineer\n"
        "We need C++. And SQL.");
  CHECK_FALSE(c.resume_truncated);
  CHECK_FALSE(c.job_truncated);
  // "## Job: Backend Engineer\nWe need C++. And SQL." is 46 bytes = 12 tokens.
  CHECK(c.job_tokens == 12);

  // Job budget 9 tokens = 36 bytes: "## Job: Backend Engineer" (24) + mark (6) = 30.
  o.job_tokens = 9;
  // Resume budget 20 tokens = 80 bytes: "## Resume\n### Work history" (26) + mark: the work entry
  // line is longer than what is left, so the resume keeps only its headings.
  o.resume_tokens = 20;
  auto t = chat::detail::build_coach_context(p, job, o, *counter);
  CHECK(t.job_truncated);
  CHECK(t.resume_truncated);
  CHECK(t.text == "Coach.\n\n## Resume\n### Work history\n[...]\n\n## Job: Backend Engineer\n[...]");
  CHECK(t.resume_tokens <= 20);
  CHECK(t.job_tokens <= 9);

  Profile empty;
  auto e = chat::detail::build_coach_context(empty, job, CoachOptions{}, *counter);
  CHECK(e.text.find("## Resume\n(no resume on file)\n\n## Job: Backend Engineer") != std::string::npos);
}

TEST_CASE("split_coach_context: the resume part and the job part", "[coach]") {
  auto parts = detail::split_coach_context("Preamble.\n\n## Resume\n### Skills\nC++\n\n## Job: Dev\nWrite code.");
  CHECK(parts.resume == "## Resume\n### Skills\nC++");
  CHECK(parts.job == "## Job: Dev\nWrite code.");
  auto no_job = detail::split_coach_context("Preamble.\n\n## Resume\n(no resume on file)");
  CHECK(no_job.resume == "## Resume\n(no resume on file)");
  CHECK(no_job.job.empty());
  auto bare = detail::split_coach_context("just text");
  CHECK(bare.resume == "just text");
  CHECK(bare.job.empty());
}
