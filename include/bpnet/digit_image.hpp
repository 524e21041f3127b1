// A user's picture of a digit made to look like an MNIST digit, the one
// preprocessing that `bpnet predict`, the server and the tests share:
//   1. grey (done by the decoder: alpha over white);
//   2. ink polarity: MNIST ink is light on dark; an image whose border is
//      light (dark ink on paper) is inverted;
//   3. background levelled: the background is estimated block by block (a
//      photo of paper is not uniformly lit); dark ink becomes the fraction of
//      its paper's brightness it absorbs, light ink has the ground subtracted; the contrast
//      stretched so the ink's 99th percentile is white and faint texture below
//      15% of it is cleared;
//   4. the ink's bounding box cropped and scaled, keeping the aspect ratio, so
//      its longer side is 20/28 of the target (20 px of 28) with area averaging;
//   5. placed in the target rows x cols so its centre of mass is the centre.
// The result is what an IDX image holds: bytes, 0 = background.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bpnet/image.hpp"

namespace bpnet {

struct DigitImage {
  std::size_t rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;  // rows x cols, 0 = background, 255 = ink
  bool inverted = false;             // the input was dark ink on a light background
};

// Throws DataError naming `name` if the image holds no ink (blank or flat).
DigitImage mnist_style(const GreyImage& image, std::size_t rows, std::size_t cols, const std::string& name);

// Area-averaging resample of a grey float image (each output pixel the mean
// of the input area it covers): what step 4 uses, exposed for tests.
std::vector<float> area_resample(const std::vector<float>& in, std::size_t in_rows, std::size_t in_cols,
                                 std::size_t out_rows, std::size_t out_cols);

}  // namespace bpnet
