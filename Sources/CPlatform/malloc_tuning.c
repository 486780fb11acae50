#include "platform.h"
#include <malloc.h>

int platform_bound_malloc_retention(int mmap_threshold, int trim_threshold, int arenas) {
    int ok = mallopt(M_MMAP_THRESHOLD, mmap_threshold);
    ok = mallopt(M_TRIM_THRESHOLD, trim_threshold) && ok;
    return mallopt(M_ARENA_MAX, arenas) && ok;
}
