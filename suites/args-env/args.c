#include "print-args.h"
