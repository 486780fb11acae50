// Operating-system probes the Swift code cannot write portably.
#ifndef SWIFTGAN_PLATFORM_H
#define SWIFTGAN_PLATFORM_H

/// Whether one process can read another's memory with process_vm_readv ("cross-memory attach",
/// CMA), as Open MPI's shared-memory transport does between ranks on one host; some containers
/// block it. Tested between two forked siblings, the relation of two ranks under one launcher (a
/// parent may be allowed where siblings are not). Returns 1 if the read worked, 0 if it was
/// refused, -1 if the probe itself could not run.
int platform_cma_works(void);

#endif
