// The project's PrivateUse1 test device: a second device type whose memory is host memory.
//
// Note [What the test device is for]
// The conformance suite promises "same spec, every device", but the machines this project runs
// on have no GPU. This backend gives torch a real second device type: tensors on it carry the
// PrivateUse1 dispatch key, go through torch's device dispatch, device guards and cross-device
// copies, and report `device.type == <name>`; only the arithmetic is borrowed from the CPU.
// It is test infrastructure, built from this file by tests/testdevice/__init__.py.
//
// Note [Zero-copy fallback]
// Only the kernels that create, view, resize or copy memory are written here. Every other
// operator reaches `run_on_cpu`, a boxed fallback that:
//   1. wraps each device tensor argument as a CPU tensor over the *same bytes* (a non-owning
//      CPU storage with the device storage's base pointer and size, and the tensor's own
//      sizes/strides/offset), so in-place ops mutate device memory and views stay views;
//   2. passes kwarg-only mutable arguments (out=) as CPU copies instead, because the CPU
//      kernel may resize them and a borrowed storage cannot grow; they are copied back after;
//   3. replaces a Device argument that names this device with the CPU;
//   4. runs the CPU kernel, then maps each result back: the very CPU wrapper of an argument
//      becomes that argument again, a CPU tensor inside a device storage becomes a device view
//      of that storage, and anything else is copied into fresh device memory.
// Version counters and view tracking live above the backend (ADInplaceOrView, Autograd), so the
// fallback does not need to know about them.
#include <ATen/ATen.h>
#include <ATen/EmptyTensor.h>
#include <ATen/detail/PrivateUse1HooksInterface.h>
#include <ATen/native/Resize.h>
#include <ATen/ops/as_strided_native.h>
#include <ATen/ops/view_native.h>
#include <ATen/ops/_reshape_alias_native.h>
#include <ATen/ops/unfold_native.h>
#include <ATen/ops/view_as_real_native.h>
#include <ATen/ops/view_as_complex_native.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <torch/library.h>

#include <cstring>

namespace testdevice {

constexpr auto kDev = c10::DeviceType::PrivateUse1;

c10::Device here() { return c10::Device(kDev, 0); }

// --- memory -------------------------------------------------------------------------------

void release(void* ptr) { c10::free_cpu(ptr); }

struct HostMemory final : c10::Allocator {
  c10::DataPtr allocate(size_t nbytes) override {
    void* ptr = nbytes ? c10::alloc_cpu(nbytes) : nullptr;
    return {ptr, ptr, &release, here()};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    std::memcpy(dest, src, count);
  }
};

HostMemory memory;
REGISTER_ALLOCATOR(kDev, &memory);

// Grow (never shrink) a device storage to hold at least `nbytes`, keeping its bytes.
void ensure_bytes(const c10::Storage& storage, size_t nbytes) {
  c10::StorageImpl* impl = storage.unsafeGetStorageImpl();
  if (nbytes <= impl->nbytes()) return;
  TORCH_CHECK(impl->resizable(), "testdevice: trying to resize storage that is not resizable");
  c10::DataPtr fresh = memory.allocate(nbytes);
  if (impl->nbytes() > 0) std::memcpy(fresh.get(), impl->data(), impl->nbytes());
  impl->set_data_ptr_noswap(std::move(fresh));
  impl->set_nbytes(nbytes);
}

// --- device guard and hooks ---------------------------------------------------------------

struct Guard final : c10::impl::DeviceGuardImplInterface {
  c10::DeviceType type() const override { return kDev; }
  c10::Device exchangeDevice(c10::Device) const override { return here(); }
  c10::Device getDevice() const override { return here(); }
  void setDevice(c10::Device d) const override {
    TORCH_CHECK(d.index() <= 0, "testdevice has one device (index 0), not ", d.index());
  }
  void uncheckedSetDevice(c10::Device) const noexcept override {}
  c10::Stream getStream(c10::Device d) const override { return c10::Stream(c10::Stream::DEFAULT, d); }
  c10::Stream exchangeStream(c10::Stream s) const override { return s; }
  c10::DeviceIndex deviceCount() const noexcept override { return 1; }
  bool queryStream(const c10::Stream&) const override { return true; }
  void synchronizeStream(const c10::Stream&) const override {}
  void synchronizeDevice(const c10::DeviceIndex) const override {}
};

C10_REGISTER_GUARD_IMPL(PrivateUse1, Guard);

struct Hooks final : at::PrivateUse1HooksInterface {
  bool isBuilt() const override { return true; }
  bool isAvailable() const override { return true; }
  bool hasPrimaryContext(c10::DeviceIndex) const override { return true; }
  at::Device getDeviceFromPtr(void*) const override { return here(); }
  c10::DeviceIndex deviceCount() const override { return 1; }
  c10::DeviceIndex getCurrentDevice() const override { return 0; }
  void resizePrivateUse1Bytes(const c10::Storage& storage, size_t nbytes) const override {
    ensure_bytes(storage, nbytes);
    storage.unsafeGetStorageImpl()->set_nbytes(nbytes);
  }
};

Hooks hooks;
struct RegisterHooks {
  RegisterHooks() { at::RegisterPrivateUse1HooksInterface(&hooks); }
} register_hooks;

// --- CPU views of device tensors, and back --------------------------------------------------

// A CPU tensor over the same bytes as `t` (see Note [Zero-copy fallback], step 1).
at::Tensor cpu_alias(const at::Tensor& t) {
  const c10::Storage& storage = t.storage();
  c10::DataPtr borrowed(storage.mutable_data(), c10::Device(c10::kCPU));
  c10::Storage host(c10::Storage::use_byte_size_t(), storage.nbytes(), std::move(borrowed),
                    /*allocator=*/nullptr, /*resizable=*/false);
  at::Tensor out = at::empty({0}, t.options().device(c10::kCPU));
  out.set_(host, t.storage_offset(), t.sizes(), t.strides());
  return out;
}

// A device tensor viewing `storage` with `like`'s geometry and dtype.
at::Tensor device_view(const c10::Storage& storage, const at::Tensor& like) {
  at::Tensor out = at::empty({0}, like.options().device(here()));
  out.set_(storage, like.storage_offset(), like.sizes(), like.strides());
  return out;
}

at::Tensor to_device_copy(const at::Tensor& t) {
  at::Tensor out = at::empty_strided(t.sizes(), t.strides(), t.options().device(here()));
  cpu_alias(out).copy_(t);
  return out;
}

// --- kernels ------------------------------------------------------------------------------

at::Tensor empty_memory_format(c10::IntArrayRef size, std::optional<at::ScalarType> dtype,
                               std::optional<at::Layout>, std::optional<at::Device>, std::optional<bool>,
                               std::optional<at::MemoryFormat> format) {
  c10::DispatchKeySet keys(c10::DispatchKey::PrivateUse1);
  return at::detail::empty_generic(size, &memory, keys, dtype.value_or(at::kFloat),
                                   format);
}

at::Tensor empty_strided(c10::IntArrayRef size, c10::IntArrayRef stride, std::optional<at::ScalarType> dtype,
                         std::optional<at::Layout>, std::optional<at::Device>, std::optional<bool>) {
  c10::DispatchKeySet keys(c10::DispatchKey::PrivateUse1);
  return at::detail::empty_strided_generic(size, stride, &memory, keys,
                                           dtype.value_or(at::kFloat));
}

// Point `self` at `storage` with the given geometry, growing the storage when it is too small.
at::Tensor& set_geometry(at::Tensor& self, c10::Storage storage, int64_t offset, c10::IntArrayRef size,
                         c10::IntArrayRef stride) {
  at::native::checkSetStorage(self, storage, offset, size, stride);
  c10::TensorImpl* impl = self.unsafeGetTensorImpl();
  impl->set_storage_keep_dtype(std::move(storage));
  impl->set_storage_offset(offset);
  if (stride.data() != nullptr) impl->set_sizes_and_strides(size, stride);
  else impl->set_sizes_contiguous(size);
  size_t itemsize = self.dtype().itemsize();
  size_t needed = self.numel() == 0 ? 0
      : at::detail::computeStorageNbytes(self.sizes(), self.strides(), itemsize, offset);
  ensure_bytes(self.storage(), needed);
  return self;
}

at::Tensor& set_storage_offset(at::Tensor& self, c10::Storage source, c10::SymInt offset,
                               c10::SymIntArrayRef size, c10::SymIntArrayRef stride) {
  return set_geometry(self, std::move(source), offset.expect_int(), C10_AS_INTARRAYREF_SLOW(size),
                      stride.data() ? C10_AS_INTARRAYREF_SLOW(stride) : c10::IntArrayRef());
}

at::Tensor& set_storage(at::Tensor& self, c10::Storage source) {
  int64_t numel = static_cast<int64_t>(source.nbytes() / self.dtype().itemsize());
  return set_geometry(self, std::move(source), 0, {numel}, {});
}

at::Tensor& set_tensor(at::Tensor& self, const at::Tensor& source) {
  if (self.unsafeGetTensorImpl() == source.unsafeGetTensorImpl()) return self;
  return set_geometry(self, source.storage(), source.storage_offset(), source.sizes(), source.strides());
}

at::Tensor& set_empty(at::Tensor& self) {
  c10::Storage fresh(c10::Storage::use_byte_size_t(), 0, &memory, /*resizable=*/true);
  return set_geometry(self, std::move(fresh), 0, {0}, {});
}

bool is_set_to(const at::Tensor& self, const at::Tensor& other) {
  return self.storage().unsafeGetStorageImpl() == other.storage().unsafeGetStorageImpl() &&
         self.storage_offset() == other.storage_offset() && self.sizes().equals(other.sizes()) &&
         self.strides().equals(other.strides());
}

const at::Tensor& resize_(const at::Tensor& self, c10::SymIntArrayRef size,
                          std::optional<at::MemoryFormat> format) {
  c10::TensorImpl* impl = self.unsafeGetTensorImpl();
  impl->set_sizes_contiguous(C10_AS_INTARRAYREF_SLOW(size));
  if (format.has_value() && *format != at::MemoryFormat::Preserve) impl->empty_tensor_restride(*format);
  size_t needed = self.numel() == 0 ? 0
      : at::detail::computeStorageNbytes(self.sizes(), self.strides(), self.dtype().itemsize(),
                                         self.storage_offset());
  ensure_bytes(self.storage(), needed);
  return self;
}

at::Tensor host_side(const at::Tensor& t) { return t.device().type() == kDev ? cpu_alias(t) : t; }

at::Tensor& copy_(at::Tensor& self, const at::Tensor& src, bool) {
  host_side(self).copy_(host_side(src));
  return self;
}

at::Tensor copy_from(const at::Tensor& self, const at::Tensor& dst, bool) {
  host_side(dst).copy_(host_side(self));
  return dst;
}

at::Tensor copy_from_and_resize(const at::Tensor& self, const at::Tensor& dst) {
  if (!dst.sizes().equals(self.sizes())) {
    if (dst.device().type() == kDev) resize_(dst, self.sym_sizes(), std::nullopt);
    else dst.resize_(self.sizes());
  }
  return copy_from(self, dst, false);
}

at::Scalar local_scalar_dense(const at::Tensor& self) { return at::_local_scalar_dense(cpu_alias(self)); }

// --- the fallback ---------------------------------------------------------------------------

struct Borrowed {
  at::Tensor device;  // the caller's tensor
  at::Tensor cpu;     // what the CPU kernel saw
  bool copied;        // an out= argument passed as a copy (copied back afterwards)
};

c10::IValue to_cpu(const c10::IValue& v, bool copy, std::vector<Borrowed>& seen) {
  if (v.isTensor()) {
    const at::Tensor& t = v.toTensor();
    if (!t.defined() || t.device().type() != kDev) return v;
    at::Tensor cpu = copy ? cpu_alias(t).clone() : cpu_alias(t);
    seen.push_back({t, cpu, copy});
    return cpu;
  }
  if (v.isDevice() && v.toDevice().type() == kDev) return c10::Device(c10::kCPU);
  if (v.isList()) {
    c10::impl::GenericList in = v.toList();
    c10::impl::GenericList out(in.elementType());
    for (const c10::IValue& item : in) out.push_back(to_cpu(item, copy, seen));
    return out;
  }
  return v;
}

c10::IValue to_device(const c10::IValue& v, const std::vector<Borrowed>& seen) {
  if (v.isTensor()) {
    const at::Tensor& t = v.toTensor();
    if (!t.defined() || t.device().type() != c10::kCPU) return v;
    for (const Borrowed& b : seen) {
      if (b.cpu.unsafeGetTensorImpl() == t.unsafeGetTensorImpl()) return b.device;
    }
    for (const Borrowed& b : seen) {
      if (!b.copied && t.storage().data() == b.cpu.storage().data() && t.storage().data() != nullptr &&
          t.storage().nbytes() <= b.device.storage().nbytes()) {
        return device_view(b.device.storage(), t);
      }
    }
    return to_device_copy(t);
  }
  if (v.isTensorList()) {
    std::vector<at::Tensor> out;
    for (const at::Tensor& t : v.toTensorList()) out.push_back(to_device(t, seen).toTensor());
    return out;
  }
  return v;
}

void run_on_cpu(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  const c10::FunctionSchema& schema = op.schema();
  const size_t n_args = schema.arguments().size();
  std::vector<Borrowed> seen;
  for (size_t i = 0; i < n_args; ++i) {
    const c10::Argument& arg = schema.arguments()[i];
    bool out_arg = arg.kwarg_only() && arg.alias_info() != nullptr && arg.alias_info()->isWrite();
    c10::IValue& slot = (*stack)[stack->size() - n_args + i];
    slot = to_cpu(slot, out_arg, seen);
  }
  op.redispatchBoxed(c10::DispatchKeySet(c10::DispatchKey::CPU), stack);
  for (const Borrowed& b : seen) {
    if (!b.copied) continue;
    if (!b.device.sizes().equals(b.cpu.sizes())) resize_(b.device, b.cpu.sym_sizes(), std::nullopt);
    cpu_alias(b.device).copy_(b.cpu);
  }
  const size_t n_out = schema.returns().size();
  for (size_t i = 0; i < n_out; ++i) {
    c10::IValue& slot = (*stack)[stack->size() - n_out + i];
    slot = to_device(slot, seen);
  }
}

TORCH_LIBRARY_IMPL(_, PrivateUse1, m) {
  m.fallback(torch::CppFunction::makeFromBoxedFunction<&run_on_cpu>());
}

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  m.impl("empty.memory_format", empty_memory_format);
  m.impl("empty_strided", empty_strided);
  m.impl("as_strided", at::native::as_strided_tensorimpl);
  m.impl("view", at::native::view);
  m.impl("_reshape_alias", at::native::_reshape_alias);
  m.impl("unfold", at::native::unfold);
  m.impl("view_as_real", at::native::view_as_real);
  m.impl("view_as_complex", at::native::view_as_complex);
  m.impl("set_.source_Storage_storage_offset", set_storage_offset);
  m.impl("set_.source_Storage", set_storage);
  m.impl("set_.source_Tensor", set_tensor);
  m.impl("set_", set_empty);
  m.impl("is_set_to", is_set_to);
  m.impl("resize_", resize_);
  m.impl("copy_", copy_);
  m.impl("_copy_from", copy_from);
  m.impl("_copy_from_and_resize", copy_from_and_resize);
  m.impl("_local_scalar_dense", local_scalar_dense);
  // Ops whose generic (Composite*) kernel would otherwise win over the fallback and either has
  // no path for a new backend (convolution_overrideable raises) or resizes a scalar out= with a
  // warning (mse_loss): send them to the CPU kernels too.
  for (const char* name : {"convolution", "convolution_backward", "mse_loss"}) {
    m.impl(name, torch::CppFunction::makeFromBoxedFunction<&run_on_cpu>());
  }
}

}  // namespace testdevice
