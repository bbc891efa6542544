// The analytics operations of seed 003: read the store's activity rows, check
// the caller's rights, and hand the arithmetic to analytics.hpp. Private to
// libchat.
//
// The dashboard covers the caller's own live support conversations (admins
// too: their own); the global view is an admin's and covers every live
// support conversation; activity periods are those of one visible conversation.
#pragma once

#include <vector>

#include "chat/service.hpp"
#include "service/key_lookup.hpp"
#include "service/service_core.hpp"

namespace chat::detail {

class Reports {
 public:
  Reports(ServiceCore& core, KeyLookup& keys) : core_(core), keys_(keys) {}

  Result<Dashboard> dashboard(const Principal& who, const DashboardQuery& q);
  Result<GlobalAnalytics> global(const Principal& who);
  Result<std::vector<ActivityPeriod>> activity_periods(const Principal& who, const ConversationKey& key);

 private:
  ServiceCore& core_;
  KeyLookup& keys_;
};

}  // namespace chat::detail
