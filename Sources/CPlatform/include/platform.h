// Operating-system probes the Swift code cannot write portably.
#ifndef SWIFTGAN_PLATFORM_H
#define SWIFTGAN_PLATFORM_H

/// Whether one process can read another's memory with process_vm_readv ("cross-memory attach",
/// CMA), as Open MPI's shared-memory transport does between ranks on one host; some containers
/// block it. Tested between two forked siblings, the relation of two ranks under one launcher (a
/// parent may be allowed where siblings are not). Returns 1 if the read worked, 0 if it was
/// refused, -1 if the probe itself could not run.
int platform_cma_works(void);

/// glibc's mallopt: allocations of at least `mmap_threshold` bytes are mapped and unmapped on
/// their own (a fixed threshold: glibc otherwise raises it after the first large free and keeps
/// such blocks), free memory above `trim_threshold` at the top of a heap goes back to the system,
/// and at most `arenas` malloc arenas. Returns 1 when all were accepted.
int platform_bound_malloc_retention(int mmap_threshold, int trim_threshold, int arenas);

#endif
