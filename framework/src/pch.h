// The precompiled header: LibTorch's C++ API and the standard library pieces
// nearly every cloze file uses. Sources still include the narrow headers they
// need; with the PCH those includes cost nothing.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn.h>
#include <torch/optim.h>
#include <torch/serialize.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>
