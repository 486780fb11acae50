#ifndef CMATHSHIM_H
#define CMATHSHIM_H

/// sin(x) and cos(x) from one call of glibc's sincos (a GNU extension Swift's Glibc module does
/// not export). glibc computes both with the same code as sin() and cos(): the bits are equal
/// (RNGTests checks it), at about half the cost of the two calls.
void gan_sincos(double x, double *s, double *c);

#endif
