#include "shape.hpp"

#include <numeric>

#include "../autograd/node.hpp"
#include "../core/factories.hpp"
#include "../core/kernels.hpp"

namespace ctorch {

using autograd::grads;
using autograd::record;
using autograd::Saved;

namespace {

// Resolves one -1 in a requested shape and checks the element count.
Shape infer_size(IntArrayRef shape, int64_t numel, std::string_view op) {
  Shape out(shape);
  int64_t known = 1, infer = -1;
  for (int64_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      CTORCH_CHECK(infer < 0, "{}: only one dimension can be inferred (shape {})", op, shape_str(shape));
      infer = i;
    } else {
      CTORCH_CHECK(out[i] >= 0, "{}: invalid shape dimension {} in {}", op, out[i], shape_str(shape));
      known *= out[i];
    }
  }
  if (infer >= 0) {
    CTORCH_CHECK(known != 0 && numel % known == 0, "{}: shape '{}' is invalid for input of size {}", op,
                 shape_str(shape), numel);
    out[infer] = numel / known;
  }
  CTORCH_CHECK(numel_of(out) == numel, "{}: shape '{}' is invalid for input of size {}", op, shape_str(shape), numel);
  return out;
}

// Strides that let `t` be viewed with `shape` without a copy, if any (PyTorch's computeStride):
// each run of input dims that is contiguous in memory may be split or merged freely.
std::optional<Shape> view_strides(const Tensor& t, IntArrayRef shape) {
  Shape out(static_cast<int64_t>(shape.size()), 1);
  if (t.numel() == 0 || t.dim() == 0) return contiguous_strides(shape);
  int64_t view_d = static_cast<int64_t>(shape.size()) - 1;
  int64_t chunk_base_stride = t.dim() > 0 ? t.strides().back() : 1;
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = t.dim() - 1; d >= 0; --d) {
    tensor_numel *= t.size(d);
    if (d == 0 || (t.size(d - 1) != 1 && t.stride(d - 1) != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = t.stride(d - 1);
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

Tensor make_view_of(const Tensor& t, IntArrayRef sizes, IntArrayRef strides, int64_t offset) {
  return make_view(t, sizes, strides, offset);
}

}  // namespace

Tensor Tensor::view(IntArrayRef shape_in) const {
  Shape shape = infer_size(shape_in, numel(), "view");
  auto st = view_strides(*this, shape);
  CTORCH_CHECK(st.has_value(),
               "view: size {} is not compatible with input tensor's size {} and stride {} (at least one dimension "
               "spans across two contiguous subspaces). Use .reshape(...) instead.",
               shape_str(shape), shape_str(sizes()), shape_str(strides()));
  Tensor out = make_view_of(*this, shape, *st, storage_offset());
  Shape in_shape(sizes());
  return record("ViewBackward0", out, {*this}, {}, [in_shape](const Saved&, const Tensor& g) {
    return grads(g.reshape(in_shape));
  });
}

Tensor Tensor::reshape(IntArrayRef shape_in) const {
  Shape shape = infer_size(shape_in, numel(), "reshape");
  if (view_strides(*this, shape)) return view(shape);
  return contiguous().view(shape);
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  d0 = wrap_dim(d0, dim(), "transpose");
  d1 = wrap_dim(d1, dim(), "transpose");
  Shape sz(sizes()), st(strides());
  if (dim() > 0) std::swap(sz[d0], sz[d1]), std::swap(st[d0], st[d1]);
  Tensor out = make_view_of(*this, sz, st, storage_offset());
  return record("TransposeBackward0", out, {*this}, {}, [d0, d1](const Saved&, const Tensor& g) {
    return grads(g.transpose(d0, d1));
  });
}

Tensor Tensor::t() const {
  CTORCH_CHECK(dim() <= 2, "t: expects a tensor with <= 2 dimensions, but self is {}D (shape {})", dim(),
               shape_str(sizes()));
  return dim() < 2 ? transpose(0, 0) : transpose(0, 1);
}

Tensor Tensor::permute(IntArrayRef dims) const {
  CTORCH_CHECK(static_cast<int64_t>(dims.size()) == dim(),
               "permute: number of dims don't match in permute (input shape {}, got {} dims {})", shape_str(sizes()),
               dims.size(), shape_str(dims));
  Shape sz, st, inverse(dim(), -1);
  for (int64_t i = 0; i < dim(); ++i) {
    int64_t d = wrap_dim(dims[i], dim(), "permute");
    CTORCH_CHECK(inverse[d] < 0, "permute: repeated dim {} in {}", d, shape_str(dims));
    inverse[d] = i;
    sz.push_back(size(d));
    st.push_back(stride(d));
  }
  Tensor out = make_view_of(*this, sz, st, storage_offset());
  return record("PermuteBackward0", out, {*this}, {}, [inverse](const Saved&, const Tensor& g) {
    return grads(g.permute(inverse));
  });
}

Tensor Tensor::unsqueeze(int64_t d) const {
  d = wrap_dim(d, dim() + 1, "unsqueeze");
  Shape sz(sizes()), st(strides());
  int64_t s = d < dim() ? stride(d) * size(d) : 1;
  sz.insert(d, 1);
  st.insert(d, s);
  Tensor out = make_view_of(*this, sz, st, storage_offset());
  return record("UnsqueezeBackward0", out, {*this}, {}, [d](const Saved&, const Tensor& g) {
    return grads(g.squeeze(d));
  });
}

Tensor Tensor::squeeze(int64_t d) const {
  d = wrap_dim(d, dim(), "squeeze");
  if (dim() == 0 || size(d) != 1) return view(sizes());
  Shape sz(sizes()), st(strides());
  sz.erase(d);
  st.erase(d);
  Tensor out = make_view_of(*this, sz, st, storage_offset());
  return record("SqueezeBackward1", out, {*this}, {}, [d](const Saved&, const Tensor& g) {
    return grads(g.unsqueeze(d));
  });
}

Tensor Tensor::squeeze() const {
  Shape sz, st;
  for (int64_t i = 0; i < dim(); ++i)
    if (size(i) != 1) sz.push_back(size(i)), st.push_back(stride(i));
  Tensor out = make_view_of(*this, sz, st, storage_offset());
  Shape in_shape(sizes());
  return record("SqueezeBackward0", out, {*this}, {}, [in_shape](const Saved&, const Tensor& g) {
    return grads(g.reshape(in_shape));
  });
}

Tensor Tensor::flatten(int64_t start, int64_t end) const {
  if (dim() == 0) return reshape({1});
  start = wrap_dim(start, dim(), "flatten");
  end = wrap_dim(end, dim(), "flatten");
  CTORCH_CHECK(start <= end, "flatten: start_dim ({}) cannot come after end_dim ({})", start, end);
  Shape shape;
  for (int64_t i = 0; i < start; ++i) shape.push_back(size(i));
  int64_t n = 1;
  for (int64_t i = start; i <= end; ++i) n *= size(i);
  shape.push_back(n);
  for (int64_t i = end + 1; i < dim(); ++i) shape.push_back(size(i));
  return reshape(shape);
}

Tensor Tensor::slice(int64_t d, std::optional<int64_t> start_in, std::optional<int64_t> end_in, int64_t step) const {
  CTORCH_CHECK(dim() > 0, "slice: cannot slice a 0-d tensor");
  d = wrap_dim(d, dim(), "slice");
  CTORCH_CHECK(step > 0, "slice: step must be positive, got {}", step);
  int64_t n = size(d);
  auto clampi = [n](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + n : v, 0, n); };
  int64_t start = start_in ? clampi(*start_in) : 0;
  int64_t end = end_in ? clampi(*end_in) : n;
  int64_t len = end > start ? (end - start + step - 1) / step : 0;
  Shape sz(sizes()), st(strides());
  sz[d] = len;
  st[d] = stride(d) * step;
  Tensor out = make_view_of(*this, sz, st, storage_offset() + start * stride(d));
  Shape in_shape(sizes());
  return record("SliceBackward0", out, {*this}, {}, [in_shape, d, start, end, step](const Saved&, const Tensor& g) {
    Tensor gi = zeros(in_shape, g.dtype());
    gi.slice(d, start, end, step).copy_(g);
    return grads(gi);
  });
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  CTORCH_CHECK(dim() > 0, "narrow: cannot be applied to a 0-dim tensor");
  d = wrap_dim(d, dim(), "narrow");
  int64_t n = size(d);
  CTORCH_CHECK(start >= -n && start <= n, "narrow: start ({}) out of range for dim {} of size {}", start, d, n);
  if (start < 0) start += n;
  CTORCH_CHECK(length >= 0 && start + length <= n, "narrow: start ({}) + length ({}) exceeds dimension size ({})", start,
               length, n);
  return slice(d, start, start + length, 1);
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  CTORCH_CHECK(dim() > 0, "select: cannot be applied to a 0-dim tensor");
  d = wrap_dim(d, dim(), "select");
  int64_t n = size(d);
  CTORCH_CHECK(index >= -n && index < n, "select: index {} out of range for tensor of size {} at dimension {}", index,
               shape_str(sizes()), d);
  if (index < 0) index += n;
  Shape sz(sizes()), st(strides());
  sz.erase(d);
  st.erase(d);
  Tensor out = make_view_of(*this, sz, st, storage_offset() + index * stride(d));
  Shape in_shape(sizes());
  return record("SelectBackward0", out, {*this}, {}, [in_shape, d, index](const Saved&, const Tensor& g) {
    Tensor gi = zeros(in_shape, g.dtype());
    gi.select(d, index).copy_(g);
    return grads(gi);
  });
}

// expand's backward is the engine's sum_to: returning g as is undoes the broadcast.
Tensor Tensor::expand(IntArrayRef shape) const {
  int64_t n = static_cast<int64_t>(shape.size());
  CTORCH_CHECK(n >= dim(), "expand: the number of sizes provided ({}) must be greater or equal to the number of "
               "dimensions in the tensor ({})", n, dim());
  Shape sz(n, 0), st(n, 0);
  for (int64_t i = n - 1; i >= 0; --i) {
    int64_t k = i - (n - dim());
    int64_t want = shape[i];
    if (k >= 0) {
      if (want == -1) want = size(k);
      CTORCH_CHECK(size(k) == want || size(k) == 1,
                   "expand: the expanded size of the tensor ({}) must match the existing size ({}) at non-singleton "
                   "dimension {}. Target sizes: {}. Tensor sizes: {}", want, size(k), i, shape_str(shape),
                   shape_str(sizes()));
      sz[i] = want;
      st[i] = size(k) == want ? stride(k) : 0;
    } else {
      CTORCH_CHECK(want >= 0, "expand: the expanded size {} is not allowed in a leading, non-existing dimension {}",
                   want, i);
      sz[i] = want;
      st[i] = 0;
    }
  }
  Tensor out = make_view_of(*this, sz, st, storage_offset());
  return record("ExpandBackward0", out, {*this}, {}, [](const Saved&, const Tensor& g) { return grads(g); });
}

Tensor Tensor::clone() const {
  Tensor out = empty(sizes(), dtype());
  kernels::copy(out, *this);
  return record("CloneBackward0", out, {*this}, {}, [](const Saved&, const Tensor& g) { return grads(g); });
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::to(ScalarType t) const {
  if (t == dtype()) return *this;
  Tensor out = empty(sizes(), t);
  kernels::copy(out, *this);
  if (!ctorch::is_floating_point(t)) return out;  // integer results carry no gradient
  ScalarType from = dtype();
  return record("ToCopyBackward0", out, {*this}, {}, [from](const Saved&, const Tensor& g) { return grads(g.to(from)); });
}

Tensor cat(const TensorList& ts, int64_t dim) {
  CTORCH_CHECK(!ts.empty(), "cat: expected a non-empty list of Tensors");
  const Tensor& first = ts[0];
  dim = wrap_dim(dim, first.dim(), "cat");
  ScalarType t = first.dtype();
  int64_t total = 0;
  for (size_t i = 0; i < ts.size(); ++i) {
    CTORCH_CHECK(ts[i].dim() == first.dim(), "cat: tensors must have the same number of dimensions: got {} and {} "
                 "(tensor {})", first.dim(), ts[i].dim(), i);
    for (int64_t d = 0; d < first.dim(); ++d)
      CTORCH_CHECK(d == dim || ts[i].size(d) == first.size(d),
                   "cat: sizes of tensors must match except in dimension {}: expected size {} but got size {} for "
                   "tensor number {} in the list (shapes {} and {})", dim, first.size(d), ts[i].size(d), i,
                   shape_str(first.sizes()), shape_str(ts[i].sizes()));
    t = promote_types(t, ts[i].dtype());
    total += ts[i].size(dim);
  }
  Shape shape(first.sizes());
  shape[dim] = total;
  Tensor out = empty(shape, t);
  std::vector<int64_t> lengths;
  int64_t at = 0;
  for (const Tensor& x : ts) {
    kernels::copy(out.detach().narrow(dim, at, x.size(dim)), x);
    lengths.push_back(x.size(dim));
    at += x.size(dim);
  }
  // cat records one node with an edge to every input
  bool any = false;
  for (const Tensor& x : ts) any = any || x.requires_grad();
  if (!any || !GradMode::is_enabled()) return out;
  auto backward = [dim, lengths](const Saved&, const Tensor& g) {
    TensorList gs;
    int64_t off = 0;
    for (int64_t len : lengths) gs.push_back(g.narrow(dim, off, len)), off += len;
    return gs;
  };
  auto node = make_pooled<autograd::LambdaNode<decltype(backward)>>("CatBackward0", SmallVector<autograd::SavedTensor, 3>{},
                                                                    std::move(backward));
  autograd::connect(node, ts, {out});
  return out;
}

Tensor stack(const TensorList& ts, int64_t dim) {
  CTORCH_CHECK(!ts.empty(), "stack: expects a non-empty TensorList");
  dim = wrap_dim(dim, ts[0].dim() + 1, "stack");
  TensorList us;
  for (size_t i = 0; i < ts.size(); ++i) {
    CTORCH_CHECK(same_shape(ts[i].sizes(), ts[0].sizes()), "stack: expects each tensor to be equal size, but got {} at "
                 "entry 0 and {} at entry {}", shape_str(ts[0].sizes()), shape_str(ts[i].sizes()), i);
    us.push_back(ts[i].unsqueeze(dim));
  }
  return cat(us, dim);
}

}  // namespace ctorch
