/* Compiled twice by tests/c_abi.rs: as it is, it must FAIL to compile with
 * -Werror=unused-result, because it ignores the lazy_bind_result of
 * lazy_bind_engine_new (declared LAZY_BIND_MUST_USE, warn_unused_result);
 * with -DUSE_RESULT it checks the status and must compile and run. */
#include <stdio.h>

#include "lazy_bind.h"

int main(void) {
  lazy_bind_engine *engine = NULL;
#ifdef USE_RESULT
  if (lazy_bind_engine_new(NULL, 0, &engine) != LAZY_BIND_OK) {
    return 1;
  }
#else
  lazy_bind_engine_new(NULL, 0, &engine);
#endif
  lazy_bind_engine_free(&engine);
  puts("discarded_result: ok");
  return 0;
}
