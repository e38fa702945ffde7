#include "print-env.h"
