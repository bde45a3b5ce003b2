/* The header's version macros agree with the library linked at run time. */
#include "check.h"

int main(void) {
  CHECK(lazy_bind_version() == LAZY_BIND_VERSION);
  CHECK(LAZY_BIND_VERSION ==
        LAZY_BIND_VERSION_PACK(LAZY_BIND_VERSION_MAJOR, LAZY_BIND_VERSION_MINOR,
                               LAZY_BIND_VERSION_PATCH));
  CHECK((lazy_bind_version() >> 16) == LAZY_BIND_VERSION_MAJOR);
  CHECK(((lazy_bind_version() >> 8) & 0xff) == LAZY_BIND_VERSION_MINOR);
  CHECK((lazy_bind_version() & 0xff) == LAZY_BIND_VERSION_PATCH);
  char expected[32];
  snprintf(expected, sizeof expected, "%d.%d.%d", LAZY_BIND_VERSION_MAJOR,
           LAZY_BIND_VERSION_MINOR, LAZY_BIND_VERSION_PATCH);
  CHECK_STR(lazy_bind_version_string(), expected);
  printf("version: ok (%s)\n", lazy_bind_version_string());
  return 0;
}
