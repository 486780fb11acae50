#ifndef MALLOC_COUNT_H
#define MALLOC_COUNT_H
/// Number of allocation calls (malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign)
/// made by the whole process since start. Valid only in an executable that links this target:
/// its definitions of those functions interpose glibc's for every library in the process.
long malloc_count_total(void);
#endif
