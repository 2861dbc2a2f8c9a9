#include <stddef.h>  /* crack.h uses size_t without including it */
#include <crack.h>
