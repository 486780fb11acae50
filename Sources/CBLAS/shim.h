// cblas.h of Debian's OpenBLAS (pthread build); pkg-config "openblas" supplies the include path.
// It also declares openblas_set_num_threads / openblas_get_corename / openblas_get_config.
#include <cblas.h>
