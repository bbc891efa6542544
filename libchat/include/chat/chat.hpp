// chat/chat.hpp: everything public in libchat, for those who want one include.
#pragma once

#include "chat/analytics.hpp"
#include "chat/coach.hpp"
#include "chat/keys.hpp"
#include "chat/llm.hpp"
#include "chat/logger.hpp"
#include "chat/openai_provider.hpp"
#include "chat/reply.hpp"
#include "chat/result.hpp"
#include "chat/service.hpp"
#include "chat/store.hpp"
#include "chat/support.hpp"
#include "chat/time.hpp"
#include "chat/token_counter.hpp"
#include "chat/types.hpp"
#include "chat/uuid.hpp"
#include "chat/version.hpp"
