#include "token_bucket.hpp"

#include <algorithm>
#include <cmath>

namespace chatd {

namespace {

TokenBucketOptions sane(TokenBucketOptions o) {
  if (!(o.per_second > 0)) o.per_second = 1;
  if (!(o.burst >= 1)) o.burst = 1;
  if (o.shards == 0) o.shards = 1;
  if (o.max_keys < o.shards) o.max_keys = o.shards;
  return o;
}

}  // namespace

TokenBucketTable::TokenBucketTable(const chat::Clock& clock, TokenBucketOptions options)
    : clock_(clock), options_(sane(options)), per_shard_(options_.max_keys / options_.shards) {
  shards_.reserve(options_.shards);
  for (std::size_t i = 0; i < options_.shards; ++i) shards_.push_back(std::make_unique<Shard>());
}

double TokenBucketTable::level(const Bucket& b, std::int64_t now_ms) const noexcept {
  const auto elapsed = std::max<std::int64_t>(0, now_ms - b.updated_ms);
  return std::min(options_.burst, b.tokens + static_cast<double>(elapsed) * options_.per_second / 1000.0);
}

void TokenBucketTable::forget_full(Shard& shard, std::int64_t now_ms) {
  std::erase_if(shard.buckets, [&](const auto& kv) { return level(kv.second, now_ms) >= options_.burst; });
  shard.last_sweep_ms = now_ms;
}

// Called with the shard full: forget full buckets, then, if that freed too
// little, the least recently used ones, so that the next per_shard_/8 new keys
// cost no sweep.
void TokenBucketTable::make_room(Shard& shard, std::int64_t now_ms) {
  forget_full(shard, now_ms);
  const std::size_t target = per_shard_ - std::max<std::size_t>(1, per_shard_ / 8);
  if (shard.buckets.size() <= target) return;
  std::vector<std::pair<std::int64_t, const std::string*>> by_age;
  by_age.reserve(shard.buckets.size());
  for (const auto& [key, b] : shard.buckets) by_age.emplace_back(b.updated_ms, &key);
  const std::size_t drop = shard.buckets.size() - target;
  std::nth_element(by_age.begin(), by_age.begin() + static_cast<std::ptrdiff_t>(drop - 1), by_age.end());
  std::vector<std::string> victims;
  victims.reserve(drop);
  for (std::size_t i = 0; i < drop; ++i) victims.push_back(*by_age[i].second);
  for (const auto& k : victims) shard.buckets.erase(k);
}

TokenBucketTable::Decision TokenBucketTable::take(std::string_view key) {
  const std::int64_t now_ms = chat::to_millis(clock_.now());
  Shard& shard = *shards_[Hash{}(key) % shards_.size()];
  std::lock_guard lock(shard.mu);
  if (now_ms - shard.last_sweep_ms >= options_.sweep_interval.count()) forget_full(shard, now_ms);

  auto it = shard.buckets.find(key);
  double tokens = it == shard.buckets.end() ? options_.burst : level(it->second, now_ms);
  if (tokens < 1.0) {
    const double wait_s = (1.0 - tokens) / options_.per_second;
    const auto secs = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(wait_s - 1e-9)));
    // Nothing changes on a refusal: the refill is computed from updated_ms.
    return Decision{false, std::chrono::seconds(secs)};
  }
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= per_shard_) make_room(shard, now_ms);
    it = shard.buckets.emplace(std::string(key), Bucket{}).first;
  }
  it->second.tokens = tokens - 1.0;
  // Clock reads race outside the lock: never move a bucket's time backwards
  // (that would refill the same milliseconds twice).
  it->second.updated_ms = std::max(it->second.updated_ms, now_ms);
  return Decision{};
}

std::size_t TokenBucketTable::size() const {
  std::size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s->mu);
    n += s->buckets.size();
  }
  return n;
}

}  // namespace chatd
