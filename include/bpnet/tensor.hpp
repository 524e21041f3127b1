// Row-major matrices. Letters used for shapes across bpnet:
//   B = rows in a batch, in/out = features entering/leaving a layer,
//   C = classes (width of the network's last layer).
#pragma once

#include <cassert>
#include <cstddef>
#include <span>
#include <vector>

#include "bpnet/aligned_vector.hpp"

namespace bpnet {

// A non-owning view of a (rows, cols) row-major block; T may be const.
template <typename T>
struct MatrixView {
  T* data = nullptr;
  std::size_t rows = 0;
  std::size_t cols = 0;

  T* row(std::size_t r) const { return data + r * cols; }
  T& operator()(std::size_t r, std::size_t c) const { return data[r * cols + c]; }
  std::size_t size() const { return rows * cols; }
  std::span<T> span() const { return {data, rows * cols}; }
  // Views convert to their const form implicitly.
  operator MatrixView<const T>() const { return {data, rows, cols}; }
};

template <typename T>
using ConstMatrixView = MatrixView<const T>;

// An owning matrix. resize() keeps capacity, so a training loop that sees the
// same batch sizes again never allocates.
template <typename T>
class Matrix {
 public:
  Matrix() = default;
  Matrix(std::size_t rows, std::size_t cols) { resize(rows, cols); }

  void resize(std::size_t rows, std::size_t cols) {
    rows_ = rows;
    cols_ = cols;
    if (storage_.size() < rows * cols) storage_.resize(rows * cols);
  }

  std::size_t rows() const { return rows_; }
  std::size_t cols() const { return cols_; }
  T* data() { return storage_.data(); }
  const T* data() const { return storage_.data(); }
  T& operator()(std::size_t r, std::size_t c) { return storage_[r * cols_ + c]; }
  const T& operator()(std::size_t r, std::size_t c) const { return storage_[r * cols_ + c]; }

  MatrixView<T> view() { return {storage_.data(), rows_, cols_}; }
  ConstMatrixView<T> view() const { return {storage_.data(), rows_, cols_}; }
  operator MatrixView<T>() { return view(); }
  operator ConstMatrixView<T>() const { return view(); }

 private:
  AlignedVector<T> storage_;  // rows start on a cache line when cols is a multiple of 16
  std::size_t rows_ = 0;
  std::size_t cols_ = 0;
};

}  // namespace bpnet
