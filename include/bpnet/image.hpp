// Image files (PNG and JPEG) as grey pixels, for recognising digits that are
// not in an IDX file. Decoding uses Debian's libpng (its simplified API:
// every bit depth, grey, RGB, RGBA, palette and interlacing) and
// libjpeg-turbo; both are made for untrusted files. The dimensions are read
// and checked before any pixel is decoded. A JPEG's EXIF orientation (how a
// phone says to turn the photo) is applied, so the digit comes out upright.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace bpnet {

inline constexpr std::size_t kMaxImageSide = 8192;
inline constexpr std::size_t kMaxImagePixels = std::size_t{40} << 20;  // 40 megapixels
inline constexpr std::size_t kMaxImageFileBytes = std::size_t{32} << 20;

// Grey levels 0 (black) .. 255 (white), row by row; transparent pixels are
// composited on white (paper).
struct GreyImage {
  std::size_t rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;
};

// PNG or JPEG, told apart by their signatures. Throws DataError naming
// `name`: not an image, damaged, or larger than the limits above.
GreyImage decode_image(std::span<const std::uint8_t> bytes, const std::string& name);
GreyImage read_image(const std::filesystem::path& path);

// A grey image as an 8-bit grey PNG (for --save-input and tests).
std::vector<std::uint8_t> encode_png(const GreyImage& image);

}  // namespace bpnet
