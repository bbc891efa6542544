// chat/chat.hpp: everything public in libchat, for those who want one include.
#pragma once

#include "chat/llm.hpp"
#include "chat/openai_provider.hpp"
#include "chat/logger.hpp"
#include "chat/result.hpp"
#include "chat/service.hpp"
#include "chat/sqlite_store.hpp"
#include "chat/store.hpp"
#include "chat/time.hpp"
#include "chat/token_counter.hpp"
#include "chat/types.hpp"
#include "chat/uuid.hpp"
#include "chat/version.hpp"
