// Placeholder translation unit so chatd_core has a source until the daemon lands.
namespace chatd {
const char* daemon_name() { return "chatd"; }
}  // namespace chatd
