/* PLACEHOLDER: being written (sha256). */
#include "core/util.h"
