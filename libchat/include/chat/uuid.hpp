// chat/uuid.hpp: random (version 4) UUIDs.
//
// generate_uuid_v4 draws from OpenSSL's CSPRNG and is thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace chat {

// Lower-case canonical form: "3fa85f64-5717-4562-b3fc-2c963f66afa6".
std::string generate_uuid_v4();

// True for the canonical 8-4-4-4-12 hex form (any version, either case).
bool is_uuid(std::string_view text) noexcept;

}  // namespace chat
