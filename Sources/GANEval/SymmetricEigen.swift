import CLAPACK

/// Eigendecomposition of a real symmetric matrix with LAPACK's divide-and-conquer `dsyevd`
/// (numpy's `eigh` / scipy's `eigh(driver="evd")`), from Debian's OpenBLAS.
public enum SymmetricEigen {
    /// Eigenvalues in ascending order and, when `vectors`, the orthonormal eigenvectors:
    /// `vectors[j*n ..< (j+1)*n]` is the eigenvector of `values[j]`.
    /// `matrix` is n x n (row- or column-major: it is symmetric); only its upper triangle (in
    /// row-major terms) is read.
    public static func decompose(_ matrix: [Double], n: Int, vectors: Bool) throws -> (values: [Double], vectors: [Double]) {
        precondition(n >= 0 && matrix.count == n * n, "SymmetricEigen: \(matrix.count) values for a \(n) x \(n) matrix")
        if n == 0 { return ([], []) }
        var a = matrix
        var w = [Double](repeating: 0, count: n)
        // Row-major upper = column-major lower.
        var jobz: CChar = vectors ? 86 /* V */ : 78 /* N */, uplo: CChar = 76 /* L */
        var nn = Int32(n), lda = Int32(n), info: Int32 = 0
        var lwork: Int32 = -1, liwork: Int32 = -1
        var workSize = 0.0, iworkSize: Int32 = 0
        dsyevd_(&jobz, &uplo, &nn, &a, &lda, &w, &workSize, &lwork, &iworkSize, &liwork, &info, 1, 1)
        guard info == 0 else { throw EvalError(.numerical, "-", "dsyevd workspace query failed (info \(info))") }
        lwork = Int32(workSize.rounded(.up))
        liwork = max(iworkSize, 1)
        var work = [Double](repeating: 0, count: Int(lwork))
        var iwork = [Int32](repeating: 0, count: Int(liwork))
        dsyevd_(&jobz, &uplo, &nn, &a, &lda, &w, &work, &lwork, &iwork, &liwork, &info, 1, 1)
        guard info == 0 else {
            throw EvalError(.numerical, "-", info < 0 ? "dsyevd: argument \(-info) invalid"
                                                       : "dsyevd: \(info) eigenvalues failed to converge")
        }
        return (w, vectors ? a : [])
    }
}
