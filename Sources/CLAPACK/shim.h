// LAPACK's symmetric eigensolvers as exported by Debian's libopenblas (which bundles reference
// LAPACK compiled with gfortran). Declared here because Debian's OpenBLAS is built NO_LAPACKE.
//
// Fortran calling convention: every argument by pointer, column-major arrays, and gfortran's
// hidden string-length arguments (one size_t per CHARACTER argument, appended at the end).
// Passing them explicitly is the correct ABI for gfortran >= 8; omitting them is the classic
// source of stack corruption in C callers of LAPACK.
#ifndef CLAPACK_SHIM_H
#define CLAPACK_SHIM_H

#include <stddef.h>

/// Eigenvalues (ascending, in w) and optionally eigenvectors (overwriting a, column-major) of a
/// real symmetric n x n matrix, divide and conquer. lwork = liwork = -1 is a workspace query.
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
             double *w, double *work, const int *lwork, int *iwork, const int *liwork, int *info,
             size_t jobz_len, size_t uplo_len);

/// The same with the QR algorithm (slower, less workspace).
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
            double *w, double *work, const int *lwork, int *info,
            size_t jobz_len, size_t uplo_len);

#endif
