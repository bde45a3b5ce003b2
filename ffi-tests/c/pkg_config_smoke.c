/* Built with only `pkg-config --cflags --libs lazy_bind` against an
 * installed prefix, once shared and once static. */
#include <lazy_bind.h>
#include <stdio.h>

int main(void) {
  lazy_bind_engine *engine = NULL;
  if (lazy_bind_engine_new(NULL, 0, &engine) != LAZY_BIND_OK) return 1;
  lazy_bind_engine_free(&engine);
  if (lazy_bind_version() != LAZY_BIND_VERSION) return 2;
  printf("pkg_config_smoke: ok\n");
  return 0;
}
