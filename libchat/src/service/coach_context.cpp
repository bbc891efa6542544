#include "service/coach_context.hpp"

#include <nlohmann/json.hpp>

#include "service/context_window.hpp"

namespace chat::detail {

namespace {

using Json = nlohmann::ordered_json;

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

std::string scalar(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string out;
    for (const auto& e : v) {
      if (!out.empty()) out += ", ";
      out += e.is_string() ? e.get<std::string>() : e.dump(-1, ' ', false, Json::error_handler_t::replace);
    }
    return out;
  }
  return v.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string entry(const Json& e) {
  if (!e.is_object()) return one_line(scalar(e));
  std::string out;
  for (auto it = e.begin(); it != e.end(); ++it) {
    if (it->is_null() || (it->is_string() && it->get_ref<const std::string&>().empty())) continue;
    if (!out.empty()) out += "; ";
    out += it.key() + ": " + scalar(*it);
  }
  return one_line(out);
}

void section(std::string& out, std::string_view title, const std::string& json_text, bool one_line_list) {
  auto arr = Json::parse(json_text, nullptr, false);
  if (!arr.is_array() || arr.empty()) return;
  out += "### ";
  out += title;
  out += '\n';
  if (one_line_list) {
    bool all_scalar = true;
    for (const auto& e : arr) all_scalar = all_scalar && !e.is_object();
    if (all_scalar) {
      std::string line;
      for (const auto& e : arr) {
        if (!line.empty()) line += ", ";
        line += one_line(scalar(e));
      }
      out += line + '\n';
      return;
    }
  }
  for (const auto& e : arr) out += "- " + entry(e) + '\n';
}

}  // namespace

std::string render_resume(const Profile& p) {
  std::string body;
  section(body, "Work history", p.work_history, false);
  section(body, "Skills", p.skills, true);
  section(body, "Projects", p.projects, false);
  section(body, "Education", p.education, false);
  if (body.empty()) body = "(no resume on file)\n";
  std::string out = "## Resume\n";
  out += body;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

CoachContext build_coach_context(const Profile& p, const Subject& job, const CoachOptions& o,
                                 const TokenCounter& counter) {
  CoachContext c;
  auto resume = truncate_to_tokens(render_resume(p), o.resume_tokens, counter);
  std::string job_text = std::string(kCoachJobHeading.substr(2)) + one_line(job.title);
  if (!job.description.empty()) job_text += "\n" + job.description;
  auto jd = truncate_to_tokens(job_text, o.job_tokens, counter);
  c.resume_tokens = counter.count(resume.text);
  c.job_tokens = counter.count(jd.text);
  c.resume_truncated = resume.truncated;
  c.job_truncated = jd.truncated;
  if (!o.preamble.empty()) c.text = o.preamble + "\n\n";
  c.text += resume.text;
  c.text += "\n\n";
  c.text += jd.text;
  return c;
}

CoachContextParts split_coach_context(std::string_view text) {
  CoachContextParts out;
  std::string_view resume = text;
  if (auto at = text.find(kCoachJobHeading); at != std::string_view::npos) {
    resume = text.substr(0, at);
    out.job = std::string(text.substr(at + 2));  // from "## Job:", without the blank line before it
  }
  if (auto r = resume.find("## Resume"); r != std::string_view::npos) resume = resume.substr(r);
  out.resume = std::string(resume);
  return out;
}

}  // namespace chat::detail
