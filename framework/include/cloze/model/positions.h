// Fixed sin-cos position embeddings over a grid, as MAE's
// get_2d_sincos_pos_embed: the width is split evenly between the grid's axes,
// and each axis's share encodes that coordinate as Vaswani et al.'s sin and cos
// bands (frequencies 1 / 10000^(i / (share / 2)), sines first).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "cloze/core/grid.h"

namespace cloze {

// [grid.numel(), dim] float32, row n for the unit at grid.unravel(n). Throws
// cloze::Error unless dim splits into an even share per axis
// (dim % (2 * rank) == 0).
at::Tensor sincos_positions(const Grid& grid, int64_t dim);

}  // namespace cloze
