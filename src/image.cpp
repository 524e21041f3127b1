#include "bpnet/image.hpp"

#include <fmt/format.h>
#include <png.h>
#include <turbojpeg.h>

#include <cstring>
#include <fstream>
#include <limits>
#include <memory>

#include "bpnet/error.hpp"

namespace bpnet {
namespace {

void check_size(std::size_t cols, std::size_t rows, const std::string& name) {
  if (cols == 0 || rows == 0 || cols > kMaxImageSide || rows > kMaxImageSide || cols * rows > kMaxImagePixels) {
    throw DataError(name, fmt::format("the image is {}x{} pixels; bpnet takes at most {} per side and {} megapixels",
                                      cols, rows, kMaxImageSide, kMaxImagePixels >> 20));
  }
}

bool is_png(std::span<const std::uint8_t> b) { return b.size() >= 8 && png_sig_cmp(b.data(), 0, 8) == 0; }
bool is_jpeg(std::span<const std::uint8_t> b) { return b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF; }

GreyImage decode_png(std::span<const std::uint8_t> bytes, const std::string& name) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  // Frees libpng's state on every path out, errors included.
  const auto release = std::unique_ptr<png_image, void (*)(png_image*)>(&image, png_image_free);
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size())) {
    throw DataError(name, fmt::format("not a readable PNG: {}", image.message));
  }
  check_size(image.width, image.height, name);
  image.format = PNG_FORMAT_GA;  // any PNG becomes 8-bit grey + alpha
  std::vector<std::uint8_t> ga(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, ga.data(), 0, nullptr)) {
    throw DataError(name, fmt::format("damaged PNG: {}", image.message));
  }
  GreyImage out{image.height, image.width, std::vector<std::uint8_t>(std::size_t{image.width} * image.height)};
  for (std::size_t i = 0; i < out.pixels.size(); ++i) {
    const unsigned grey = ga[2 * i], alpha = ga[2 * i + 1];
    out.pixels[i] = static_cast<std::uint8_t>((grey * alpha + 255 * (255 - alpha) + 127) / 255);  // over white
  }
  return out;
}

// The EXIF orientation (1..8) of a JPEG, 1 if it has none: phones store
// photos as the sensor saw them and say in APP1 how to turn them upright.
// Reads only the bytes it has checked are there.
int exif_orientation(std::span<const std::uint8_t> b) {
  std::size_t at = 2;  // after SOI
  while (at + 4 <= b.size() && b[at] == 0xFF) {
    const std::uint8_t marker = b[at + 1];
    const std::size_t length = (std::size_t{b[at + 2]} << 8) | b[at + 3];
    if (marker == 0xDA || length < 2 || at + 2 + length > b.size()) break;  // image data, or damaged
    const std::span<const std::uint8_t> segment = b.subspan(at + 4, length - 2);
    if (marker == 0xE1 && segment.size() >= 14 && std::memcmp(segment.data(), "Exif\0\0", 6) == 0) {
      const std::span<const std::uint8_t> tiff = segment.subspan(6);
      const bool little = tiff[0] == 'I';
      const auto u16 = [&](std::size_t o) -> unsigned {
        return little ? tiff[o] | (tiff[o + 1] << 8) : (tiff[o] << 8) | tiff[o + 1];
      };
      const auto u32 = [&](std::size_t o) -> std::size_t {
        return little ? (std::size_t{u16(o + 2)} << 16) | u16(o) : (std::size_t{u16(o)} << 16) | u16(o + 2);
      };
      const std::size_t ifd = u32(4);
      if (ifd + 2 > tiff.size()) return 1;
      const unsigned entries = u16(ifd);
      for (unsigned e = 0; e < entries && ifd + 2 + 12 * (e + 1) <= tiff.size(); ++e) {
        const std::size_t entry = ifd + 2 + 12 * e;
        if (u16(entry) == 0x0112) {
          const unsigned value = u16(entry + 8);
          return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
        }
      }
      return 1;
    }
    at += 2 + length;
  }
  return 1;
}

// Turns an image upright by its EXIF orientation (2: mirrored, 3: turned
// 180 degrees, 6: turned 90 clockwise to view, 8: 90 anticlockwise, 5 and 7:
// transposes).
GreyImage upright(GreyImage in, int orientation) {
  if (orientation <= 1) return in;
  const bool swap = orientation >= 5;
  GreyImage out{swap ? in.cols : in.rows, swap ? in.rows : in.cols, std::vector<std::uint8_t>(in.pixels.size())};
  for (std::size_t r = 0; r < out.rows; ++r) {
    for (std::size_t c = 0; c < out.cols; ++c) {
      std::size_t sr = r, sc = c;  // where output (r, c) comes from
      switch (orientation) {
        case 2: sc = in.cols - 1 - c; break;
        case 3: sr = in.rows - 1 - r, sc = in.cols - 1 - c; break;
        case 4: sr = in.rows - 1 - r; break;
        case 5: sr = c, sc = r; break;
        case 6: sr = in.rows - 1 - c, sc = r; break;
        case 7: sr = in.rows - 1 - c, sc = in.cols - 1 - r; break;
        case 8: sr = c, sc = in.cols - 1 - r; break;
        default: break;
      }
      out.pixels[r * out.cols + c] = in.pixels[sr * in.cols + sc];
    }
  }
  return out;
}

GreyImage decode_jpeg(std::span<const std::uint8_t> bytes, const std::string& name) {
  const auto handle = std::unique_ptr<void, int (*)(tjhandle)>(tjInitDecompress(), tjDestroy);
  if (!handle) throw DataError(name, "cannot start the JPEG decoder");
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<unsigned long>::max()) ||
      tjDecompressHeader3(handle.get(), bytes.data(), static_cast<unsigned long>(bytes.size()), &width, &height,
                          &subsampling, &colorspace) != 0) {
    throw DataError(name, fmt::format("not a readable JPEG: {}", tjGetErrorStr2(handle.get())));
  }
  check_size(static_cast<std::size_t>(width), static_cast<std::size_t>(height), name);
  GreyImage out{static_cast<std::size_t>(height), static_cast<std::size_t>(width),
                std::vector<std::uint8_t>(static_cast<std::size_t>(width) * static_cast<std::size_t>(height))};
  if (tjDecompress2(handle.get(), bytes.data(), static_cast<unsigned long>(bytes.size()), out.pixels.data(), width, 0,
                    height, TJPF_GRAY, TJFLAG_STOPONWARNING) != 0) {
    throw DataError(name, fmt::format("damaged JPEG: {}", tjGetErrorStr2(handle.get())));
  }
  return upright(std::move(out), exif_orientation(bytes));
}

}  // namespace

GreyImage decode_image(std::span<const std::uint8_t> bytes, const std::string& name) {
  if (is_png(bytes)) return decode_png(bytes, name);
  if (is_jpeg(bytes)) return decode_jpeg(bytes, name);
  throw DataError(name, "not a PNG or JPEG image (unknown signature)");
}

GreyImage read_image(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw DataError(path.string(), std::filesystem::exists(path, ec) ? "not a regular file" : "no such file");
  }
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size > kMaxImageFileBytes) {
    throw DataError(path.string(), fmt::format("the file is over {} MiB; bpnet reads images up to that", kMaxImageFileBytes >> 20));
  }
  std::vector<std::uint8_t> bytes(size);
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size))) {
    throw DataError(path.string(), "cannot read the file");
  }
  return decode_image(bytes, path.string());
}

std::vector<std::uint8_t> encode_png(const GreyImage& image) {
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.cols);
  png.height = static_cast<png_uint_32>(image.rows);
  png.format = PNG_FORMAT_GRAY;
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&png, nullptr, &size, 0, image.pixels.data(), 0, nullptr)) {
    throw Error(fmt::format("cannot encode PNG: {}", png.message));
  }
  std::vector<std::uint8_t> out(size);
  if (!png_image_write_to_memory(&png, out.data(), &size, 0, image.pixels.data(), 0, nullptr)) {
    throw Error(fmt::format("cannot encode PNG: {}", png.message));
  }
  out.resize(size);
  return out;
}

}  // namespace bpnet
