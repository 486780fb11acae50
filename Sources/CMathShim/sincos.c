#define _GNU_SOURCE
#include <math.h>
#include "CMathShim.h"

void gan_sincos(double x, double *s, double *c) { sincos(x, s, c); }
