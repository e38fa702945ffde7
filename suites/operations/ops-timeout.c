#include "upper.h"
