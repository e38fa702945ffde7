#include "clocks.h"
