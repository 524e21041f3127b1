// Distortions of training images, drawn afresh for every image in every
// epoch: affine (rotation, scaling, shear, translation) and elastic (Simard,
// Steinkraus & Platt 2003). The parameters of image i in epoch e are a pure
// function of (seed, e, i), so a run is the same for any number of workers
// and a resumed run redraws exactly what it would have drawn.
//
// Coordinates: x to the right (columns), y down (rows), about the image's
// centre ((cols - 1) / 2, (rows - 1) / 2). Out-of-image pixels are 0 (MNIST's
// background). Shapes: an image is (rows, cols), stored row by row.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bpnet/random.hpp"

namespace bpnet {

enum class AugmentKind { none, affine, elastic, both };
std::string_view name(AugmentKind kind);
// "none", "affine", "elastic", "both"; throws ConfigError otherwise.
AugmentKind parse_augment(std::string_view text);

// The largest distortion of each kind; each image draws its own uniformly
// within these bounds. Defaults: the affine bounds are the upper ends of
// Ciresan et al. 2010 (rotation 15 degrees, scaling 15% per axis, horizontal
// shear 15 degrees; no translation, as in both papers); the elastic ones are
// Simard et al. 2003's for MNIST (sigma 4, alpha 34).
struct AugmentOptions {
  AugmentKind kind = AugmentKind::none;
  double rotate = 15;          // degrees, in [0, 180]
  double scale = 0.15;         // relative change of each axis' size, in [0, 0.5]
  double shear = 15;           // horizontal shear angle, degrees, in [0, 60]
  double translate = 0;        // pixels along each axis, in [0, 10]
  double elastic_sigma = 4;    // width of the Gaussian smoothing the displacement field, pixels, in [0.5, 20]
  double elastic_alpha = 34;   // scale of the smoothed field, pixels, in [0, 300]

  bool affine() const { return kind == AugmentKind::affine || kind == AugmentKind::both; }
  bool elastic() const { return kind == AugmentKind::elastic || kind == AugmentKind::both; }
  bool enabled() const { return kind != AugmentKind::none; }
  // Throws ConfigError naming the flag out of range.
  void validate() const;
  bool operator==(const AugmentOptions&) const = default;
};

// "elastic sigma 4 alpha 34", "affine rotate 15 scale 0.15 shear 15", both
// joined by " + "; "no distortions".
std::string describe(const AugmentOptions& options);

// One image's affine map, applied to its content about the centre: scale
// each axis, then shear horizontally (x += tan(shear) * y), then rotate
// counter-clockwise as seen on screen, then shift.
struct AffineParams {
  double rotate_degrees = 0;
  double scale_x = 1, scale_y = 1;
  double shear_degrees = 0;
  double shift_x = 0, shift_y = 0;
};

// Distorts images of one size. Holds the Gaussian kernel and scratch
// buffers, so each thread needs its own; no allocation per image.
class Distorter {
 public:
  // rows, cols in [1, 4096]. Throws ConfigError if the options are invalid.
  Distorter(const AugmentOptions& options, std::size_t rows, std::size_t cols);

  // out (rows * cols): `image` distorted with the parameters of image
  // `index` in epoch `epoch` (0-based) under `seed`, as pixel values in
  // [0, 255] (not rounded).
  void distort(const std::uint8_t* image, std::uint64_t seed, std::uint64_t epoch, std::uint64_t index, float* out);

  // The steps of distort(), for tests and pictures.
  // The random stream of one image.
  static RandomStream stream(std::uint64_t seed, std::uint64_t epoch, std::uint64_t index);
  AffineParams draw_affine(const RandomStream& stream) const;
  // dx, dy (rows * cols): uniform noise in [-1, 1] smoothed by the Gaussian
  // and multiplied by alpha.
  void draw_displacement(const RandomStream& stream, float* dx, float* dy);
  // out(y, x) = image sampled bilinearly at affine^-1((x, y) + d(x, y)); null
  // `affine` is the identity, null dx/dy no displacement.
  void warp(const std::uint8_t* image, const AffineParams* affine, const float* dx, const float* dy, float* out);

 private:
  AugmentOptions options_;
  std::size_t rows_, cols_;
  std::vector<float> kernel_;               // (2R + 1): the normalised Gaussian
  std::vector<float> noise_, dx_, dy_;      // (rows, cols) each
  std::vector<float> scratch_;              // for the blur
  std::vector<float> padded_;               // (rows + 4, cols + 4): the image in a zero frame
  std::vector<float> source_u_, zeros_;     // (cols): columns relative to the centre; no displacement
};

}  // namespace bpnet
