// The Node binding of the Rust storage engine: JS values <-> the C ABI of strand.h.
// Nothing clever lives here. Hot calls (append, read) take a Buffer without copying and
// report through Float64Arrays that the JS side allocates once, so they allocate nothing.
// fsync runs in the libuv pool (AsyncWorker); appendAsync and sendfile run on the engine's
// own threads and complete their Promises through one thread-safe function per kind of work
// and environment (AsyncState).
#include <napi.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "strand.h"

namespace {

const char* CodeName(int32_t status) {
  switch (status) {
    case STRAND_E_IO: return "IO";
    case STRAND_E_CORRUPT: return "CORRUPT_MESSAGE";
    case STRAND_E_INVALID_RECORD: return "INVALID_RECORD";
    case STRAND_E_TOO_LARGE: return "MESSAGE_TOO_LARGE";
    case STRAND_E_OUT_OF_RANGE: return "OFFSET_OUT_OF_RANGE";
    case STRAND_E_INVALID_ARG: return "INVALID_ARGUMENT";
    case STRAND_E_CLOSED: return "CLOSED";
    case STRAND_E_TIMEOUT: return "TIMEOUT";
    case STRAND_E_PEER: return "PEER_CLOSED";
    default: return "IO";
  }
}

std::string LastError(int32_t status) {
  const char* msg = strand_last_error();
  if (msg != nullptr && msg[0] != '\0') return msg;
  return std::string("storage engine error ") + CodeName(status);
}

// Completion of one item on the JS thread (its env is alive).
using CompleteFn = void (*)(Napi::Env env, void* item);

// Guards a thread-safe function against environment teardown: an engine thread may finish
// work after the environment that submitted it is gone. One per kind of completion
// (sendfile transfers, appends). Engine threads queue finished items in `ready`; one tsfn
// call takes all that are there, so a burst of completions costs one wake-up of the event
// loop and one microtask checkpoint rather than one each (Node dispatches a tsfn's calls
// one per loop wake-up, each in its own callback scope).
struct AsyncState {
  std::mutex mu;
  bool alive = true;
  napi_threadsafe_function tsfn = nullptr;
  std::vector<void*> ready;  // guarded by mu; a tsfn call is on its way whenever non-empty
  CompleteFn complete = nullptr;
  size_t pending = 0;  // JS thread only: work in flight (the tsfn is ref'd while > 0)
};

// Completion of one sendfile transfer, shared between the submitting JS thread, the epoll
// thread and the thread-safe function's JS callback.
struct SendCtx {
  napi_deferred deferred;
  std::shared_ptr<AsyncState> state;
  int32_t status = 0;
  uint64_t bytesSent = 0;
  std::string message;
};

class NativeLog;

// One appendAsync call, from submission on the JS thread through the append thread back to
// the JS thread. The references keep the batches' buffer and the log's wrapper alive.
struct AppendCtx {
  napi_deferred deferred = nullptr;
  std::shared_ptr<AsyncState> state;
  napi_ref bufRef = nullptr;
  napi_ref ownerRef = nullptr;
  NativeLog* owner = nullptr;
  int32_t status = 0;
  strand_append_result result{};
  std::string message;
};

struct AddonData {
  Napi::FunctionReference errorClass;  // StorageError from the JS side; plain Error until set
  std::shared_ptr<AsyncState> send;
  std::shared_ptr<AsyncState> append;
};

AddonData* Data(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

Napi::Value MakeError(Napi::Env env, int32_t status, const std::string& message) {
  AddonData* data = Data(env);
  if (data != nullptr && !data->errorClass.IsEmpty()) {
    return data->errorClass.New({Napi::String::New(env, CodeName(status)), Napi::String::New(env, message)});
  }
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, CodeName(status)));
  return error.Value();
}

void Throw(Napi::Env env, int32_t status, const std::string& message) {
  Napi::Value error = MakeError(env, status, message);
  if (!env.IsExceptionPending()) napi_throw(env, error);
}

void ThrowStatus(Napi::Env env, int32_t status) { Throw(env, status, LastError(status)); }

void ThrowArg(Napi::Env env, const char* message) { Throw(env, STRAND_E_INVALID_ARG, message); }

// A promise already rejected with the engine's error: async calls report bad arguments and
// closed logs this way rather than by throwing.
Napi::Value RejectedPromise(Napi::Env env, int32_t status, const std::string& message) {
  auto d = Napi::Promise::Deferred::New(env);
  d.Reject(MakeError(env, status, message));
  return d.Promise();
}

// The bytes a typed array views (a Buffer's too), without copying.
const uint8_t* BytesOf(const Napi::TypedArray& arr) {
  return static_cast<const uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
}

int64_t ToInt64(const Napi::Value& v) {
  double d = v.As<Napi::Number>().DoubleValue();
  if (std::isnan(d)) return 0;
  // JS's "never" is Number.MAX_SAFE_INTEGER or Infinity: the engine's never is INT64_MAX.
  if (d >= 9007199254740991.0) return INT64_MAX;
  if (d <= -9007199254740991.0) return INT64_MIN;
  return static_cast<int64_t>(d);
}

bool IsNumbers(const Napi::CallbackInfo& info, size_t from, size_t to) {
  for (size_t i = from; i < to; i++) {
    if (!info[i].IsNumber()) return false;
  }
  return true;
}

// A reusable Float64Array owned by JS; kept alive by a reference, its memory pinned.
struct F64Slot {
  Napi::Reference<Napi::Float64Array> ref;
  double* data = nullptr;
  size_t length = 0;

  bool Set(const Napi::Value& v) {
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) return false;
    Napi::Float64Array arr = v.As<Napi::Float64Array>();
    ref = Napi::Persistent(arr);
    data = arr.Data();
    length = arr.ElementLength();
    return true;
  }
};

// Config layout shared with src/storage/native.ts (CONFIG_FIELDS).
constexpr size_t kConfigFields = 8;

bool ReadConfig(const Napi::Value& v, strand_log_config* cfg) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) return false;
  Napi::Float64Array a = v.As<Napi::Float64Array>();
  if (a.ElementLength() < kConfigFields) return false;
  auto i64 = [&](size_t i) -> int64_t {
    double d = a[i];
    if (std::isnan(d)) return 0;
    if (d >= 9007199254740991.0) return INT64_MAX;
    return static_cast<int64_t>(d);
  };
  auto u32 = [&](size_t i) -> uint32_t {
    int64_t x = i64(i);
    return x < 0 ? 0 : (x > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(x));
  };
  int64_t segmentBytes = i64(0);
  cfg->segment_bytes = segmentBytes < 0 ? 0 : static_cast<uint64_t>(segmentBytes);
  cfg->segment_ms = i64(1);
  cfg->segment_index_bytes = u32(2);
  cfg->index_interval_bytes = u32(3);
  cfg->flush_messages = i64(4);
  cfg->flush_ms = i64(5);
  cfg->recovery_point = i64(6);
  cfg->log_start_offset = i64(7);
  return true;
}

// The append result slots: [baseOffset, lastOffset, logAppendTime, maxTimestamp,
// logStartOffset, batchCount, recordCount, bytes, needsFlush].
void FillAppendResult(const strand_append_result& r, double* out) {
  out[0] = static_cast<double>(r.base_offset);
  out[1] = static_cast<double>(r.last_offset);
  out[2] = static_cast<double>(r.log_append_time);
  out[3] = static_cast<double>(r.max_timestamp);
  out[4] = static_cast<double>(r.log_start_offset);
  out[5] = r.batch_count;
  out[6] = r.record_count;
  out[7] = static_cast<double>(r.bytes);
  out[8] = r.needs_flush;
}

// Runs one blocking engine call on a handle in the libuv pool (fsync, segment
// replacement, close, delete).
class LogWorker : public Napi::AsyncWorker {
 public:
  enum class Kind { Flush, Replace, Close, Delete };
  LogWorker(Napi::Env env, NativeLog* owner, strand_log* log, Kind kind, int32_t clean);
  // Kind::Replace: the arguments of strand_log_replace_segments, owned by the worker.
  void SetReplace(std::vector<int64_t> bases, std::string path) {
    bases_ = std::move(bases);
    path_ = std::move(path);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override;
  void OnOK() override;

 private:
  Napi::Promise::Deferred deferred_;
  NativeLog* owner_;
  Napi::ObjectReference keepAlive_;  // the owner must outlive the worker
  strand_log* log_;
  Kind kind_;
  int32_t clean_;
  std::vector<int64_t> bases_;
  std::string path_;
  int32_t status_ = 0;
  std::string message_;
};

// replaceSegments arguments: (bases: number[] | Float64Array, cleanedLogPath: string).
bool ReadReplaceArgs(const Napi::CallbackInfo& info, std::vector<int64_t>* bases, std::string* path) {
  if (info.Length() < 2 || !info[1].IsString()) return false;
  if (info[0].IsTypedArray() && info[0].As<Napi::TypedArray>().TypedArrayType() == napi_float64_array) {
    Napi::Float64Array a = info[0].As<Napi::Float64Array>();
    for (size_t i = 0; i < a.ElementLength(); i++) {
      double d = a[i];
      if (!(d >= 0 && d <= 9007199254740991.0) || d != std::floor(d)) return false;
      bases->push_back(static_cast<int64_t>(d));
    }
  } else if (info[0].IsArray()) {
    Napi::Array a = info[0].As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Value v = a.Get(i);
      if (!v.IsNumber()) return false;
      double d = v.As<Napi::Number>().DoubleValue();
      if (!(d >= 0 && d <= 9007199254740991.0) || d != std::floor(d)) return false;
      bases->push_back(static_cast<int64_t>(d));
    }
  } else {
    return false;
  }
  *path = info[1].As<Napi::String>().Utf8Value();
  return true;
}

class NativeLog : public Napi::ObjectWrap<NativeLog> {
  friend void AppendComplete(Napi::Env, void*);

 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeLog",
                       {
                           InstanceMethod<&NativeLog::SetResultArray>("setResultArray"),
                           InstanceMethod<&NativeLog::SetRegionArray>("setRegionArray"),
                           InstanceMethod<&NativeLog::Append>("append"),
                           InstanceMethod<&NativeLog::AppendAsync>("appendAsync"),
                           InstanceMethod<&NativeLog::Read>("read"),
                           InstanceMethod<&NativeLog::LogStartOffset>("logStartOffset"),
                           InstanceMethod<&NativeLog::LogEndOffset>("logEndOffset"),
                           InstanceMethod<&NativeLog::RecoveryPoint>("recoveryPoint"),
                           InstanceMethod<&NativeLog::SizeBytes>("sizeBytes"),
                           InstanceMethod<&NativeLog::OffsetForTimestamp>("offsetForTimestamp"),
                           InstanceMethod<&NativeLog::MaxTimestamp>("maxTimestamp"),
                           InstanceMethod<&NativeLog::TruncateTo>("truncateTo"),
                           InstanceMethod<&NativeLog::DeleteSegmentsBefore>("deleteSegmentsBefore"),
                           InstanceMethod<&NativeLog::DeletedGeneration>("deletedGeneration"),
                           InstanceMethod<&NativeLog::RemoveDeleted>("removeDeleted"),
                           InstanceMethod<&NativeLog::ReplaceSegments>("replaceSegments"),
                           InstanceMethod<&NativeLog::ReplaceSegmentsAsync>("replaceSegmentsAsync"),
                           InstanceMethod<&NativeLog::SetStartOffset>("setStartOffset"),
                           InstanceMethod<&NativeLog::Roll>("roll"),
                           InstanceMethod<&NativeLog::Segments>("segments"),
                           InstanceMethod<&NativeLog::Configure>("configure"),
                           InstanceMethod<&NativeLog::Flush>("flush"),
                           InstanceMethod<&NativeLog::Close>("close"),
                           InstanceMethod<&NativeLog::Delete>("delete"),
                       });
  }

  // new NativeLog(dir: string, config: Float64Array)
  explicit NativeLog(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeLog>(info) {
    Napi::Env env = info.Env();
    strand_log_config cfg{};
    if (info.Length() < 2 || !info[0].IsString() || !ReadConfig(info[1], &cfg)) {
      ThrowArg(env, "NativeLog(dir: string, config: Float64Array)");
      return;
    }
    std::string dir = info[0].As<Napi::String>().Utf8Value();
    int32_t rc = strand_log_open(dir.c_str(), &cfg, &log_);
    if (rc != STRAND_OK) {
      log_ = nullptr;
      ThrowStatus(env, rc);
    }
  }

  ~NativeLog() override {
    // Collected without close(): release the files, without the clean-shutdown marker so
    // the next open re-validates the tail. Workers keep the wrapper alive, so none runs.
    if (log_ != nullptr) strand_log_close(log_, 0);
  }

  // Called by LogWorker::OnOK on the JS thread.
  void WorkerDone(Napi::Env env, LogWorker::Kind kind) {
    if (kind == LogWorker::Kind::Flush || kind == LogWorker::Kind::Replace) {
      inflight_--;
      StartPendingTerminal(env);
    }
  }

 private:
  bool Live(Napi::Env env) {
    if (log_ == nullptr || terminal_) {
      Throw(env, STRAND_E_CLOSED, "the log is closed");
      return false;
    }
    return true;
  }

  // Result slot 9 (when the array has it): fds parked until the next sweep, so that the JS
  // side schedules one (src/storage/open-files.ts).
  void ReportParked() {
    if (result_.length > 9) result_.data[9] = static_cast<double>(strand_files_parked());
  }

  Napi::Value SetResultArray(const Napi::CallbackInfo& info) {
    if (!result_.Set(info[0]) || result_.length < 9) ThrowArg(info.Env(), "setResultArray(Float64Array(>= 9))");
    return info.Env().Undefined();
  }

  Napi::Value SetRegionArray(const Napi::CallbackInfo& info) {
    if (!regions_.Set(info[0]) || regions_.length < 4) ThrowArg(info.Env(), "setRegionArray(Float64Array(>= 4))");
    return info.Env().Undefined();
  }

  // append(buf, leaderEpoch, timestampType, nowMs, maxBatchBytes): fills the result array
  // [baseOffset, lastOffset, logAppendTime, maxTimestamp, logStartOffset, batchCount,
  //  recordCount, bytes, needsFlush].
  Napi::Value Append(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Live(env)) return env.Undefined();
    if (info.Length() < 5 || !info[0].IsBuffer() || !IsNumbers(info, 1, 5) || result_.data == nullptr) {
      ThrowArg(env, "append(buffer, leaderEpoch, timestampType, nowMs, maxBatchBytes)");
      return env.Undefined();
    }
    Napi::Buffer<uint8_t> buf = info[0].As<Napi::Buffer<uint8_t>>();
    strand_append_result r{};
    int32_t rc = strand_log_append(log_, buf.Data(), buf.Length(), info[1].As<Napi::Number>().Int32Value(),
                                   info[2].As<Napi::Number>().Int32Value(), ToInt64(info[3]),
                                   info[4].As<Napi::Number>().Int32Value(), &r);
    if (rc != STRAND_OK) {
      ThrowStatus(env, rc);
      return env.Undefined();
    }
    FillAppendResult(r, result_.data);
    ReportParked();
    return env.Undefined();
  }

  // appendAsync(buf, leaderEpoch, timestampType, nowMs, maxBatchBytes): Promise<Float64Array>
  // of the append result slots, parked fds last. The same append on one of the engine's
  // append threads, so that the page-cache copy runs beside the JS thread and appends to
  // logs on other threads overlap. A log's appends run in call order (one thread per log);
  // a sync append() made while some are queued does not wait for them. close() does.
  Napi::Value AppendAsync(const Napi::CallbackInfo& info);

  // read(offset, maxBytes, maxOffset, minOneBatch): the region count n. When 4n exceeds the
  // region array, nothing is written: the caller installs a larger array and asks again.
  Napi::Value Read(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Live(env)) return env.Undefined();
    if (info.Length() < 4 || !IsNumbers(info, 0, 3) || regions_.data == nullptr) {
      ThrowArg(env, "read(offset, maxBytes, maxOffset, minOneBatch)");
      return env.Undefined();
    }
    double maxBytesD = info[1].As<Napi::Number>().DoubleValue();
    uint32_t maxBytes = maxBytesD <= 0 ? 0 : (maxBytesD >= 4294967295.0 ? UINT32_MAX : static_cast<uint32_t>(maxBytesD));
    if (scratch_.size() < 16) scratch_.resize(16);
    size_t n = 0;
    for (;;) {
      int32_t rc = strand_log_read(log_, ToInt64(info[0]), maxBytes, ToInt64(info[2]), info[3].ToBoolean() ? 1 : 0,
                                   scratch_.data(), scratch_.size(), &n);
      if (rc != STRAND_OK) {
        ThrowStatus(env, rc);
        return env.Undefined();
      }
      if (n <= scratch_.size()) break;
      scratch_.resize(n);
    }
    if (n * 4 <= regions_.length) {
      double* out = regions_.data;
      for (size_t i = 0; i < n; i++) {
        out[i * 4] = scratch_[i].fd;
        out[i * 4 + 1] = scratch_[i].position;
        out[i * 4 + 2] = scratch_[i].length;
        out[i * 4 + 3] = static_cast<double>(scratch_[i].segment_base_offset);
      }
    }
    ReportParked();
    return Napi::Number::New(env, static_cast<double>(n));
  }

  Napi::Value LogStartOffset(const Napi::CallbackInfo& info) {
    if (!Live(info.Env())) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), static_cast<double>(strand_log_start_offset(log_)));
  }
  Napi::Value LogEndOffset(const Napi::CallbackInfo& info) {
    if (!Live(info.Env())) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), static_cast<double>(strand_log_end_offset(log_)));
  }
  Napi::Value RecoveryPoint(const Napi::CallbackInfo& info) {
    if (!Live(info.Env())) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), static_cast<double>(strand_log_recovery_point(log_)));
  }
  Napi::Value SizeBytes(const Napi::CallbackInfo& info) {
    if (!Live(info.Env())) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), static_cast<double>(strand_log_size_bytes(log_)));
  }

  // offsetForTimestamp(ts): offset (-1 when none); result array [offset, timestamp].
  Napi::Value OffsetForTimestamp(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Live(env)) return env.Undefined();
    if (!IsNumbers(info, 0, 1) || result_.data == nullptr) {
      ThrowArg(env, "offsetForTimestamp(ms)");
      return env.Undefined();
    }
    int64_t offset = -1, ts = -1;
    int32_t rc = strand_log_offset_for_timestamp(log_, ToInt64(info[0]), &offset, &ts);
    return TimestampResult(env, rc, offset, ts);
  }

  Napi::Value MaxTimestamp(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Live(env)) return env.Undefined();
    if (result_.data == nullptr) {
      ThrowArg(env, "maxTimestamp() before setResultArray");
      return env.Undefined();
    }
    int64_t offset = -1, ts = -1;
    int32_t rc = strand_log_max_timestamp(log_, &offset, &ts);
    return TimestampResult(env, rc, offset, ts);
  }

  Napi::Value TimestampResult(Napi::Env env, int32_t rc, int64_t offset, int64_t ts) {
    if (rc != STRAND_OK) {
      ThrowStatus(env, rc);
      return env.Undefined();
    }
    result_.data[0] = static_cast<double>(offset);
    result_.data[1] = static_cast<double>(ts);
    return Napi::Number::New(env, static_cast<double>(offset));
  }

  Napi::Value TruncateTo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Live(env)) return env.Undefined();
    if (!IsNumbers(info, 0, 1)) {
      ThrowArg(env, "truncateTo(offset)");
      return env.Undefined();
    }
    int32_t rc = strand_log_truncate_to(log_, ToInt64(info[0]));
    if (rc != STRAND_OK) ThrowStatus(env, rc);
    return env.Undefined();
  }

  Napi::Value DeleteSegmentsBefore(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Live(env)) return env.Undefined();
    if (!IsNumbers(info, 0, 1)) {
      ThrowArg(env, "deleteSegmentsBefore(offset)");
      return env.Undefined();
    }
    uint32_t deleted = 0;
    int32_t rc = strand_log_delete_segments_before(log_, ToInt64(info[0]), &deleted);
    if (rc != STRAND_OK) {
      ThrowStatus(env, rc);
      return env.Undefined();
    }
    return Napi::Number::New(env, deleted);
  }

  // deletedGeneration(): the engine's count of retiring operations (see strand.h).
  Napi::Value DeletedGeneration(const Napi::CallbackInfo& info) {
    if (!Live(info.Env())) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), static_cast<double>(strand_log_deleted_generation(log_)));
  }

  // removeDeleted(upToGeneration): closes and unlinks retired segments; returns how many remain.
  Napi::Value RemoveDeleted(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Live(env)) return env.Undefined();
    if (!IsNumbers(info, 0, 1)) {
      ThrowArg(env, "removeDeleted(upToGeneration)");
      return env.Undefined();
    }
    uint32_t remaining = 0;
    int32_t rc = strand_log_remove_deleted(log_, ToInt64(info[0]), &remaining);
    if (rc != STRAND_OK) {
      ThrowStatus(env, rc);
      return env.Undefined();
    }
    return Napi::Number::New(env, remaining);
  }

  // replaceSegments(bases, cleanedLogPath): synchronous (validates and indexes the cleaned
  // file on this thread).
  Napi::Value ReplaceSegments(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Live(env)) return env.Undefined();
    std::vector<int64_t> bases;
    std::string path;
    if (!ReadReplaceArgs(info, &bases, &path)) {
      ThrowArg(env, "replaceSegments(oldBaseOffsets: number[], cleanedLogPath: string)");
      return env.Undefined();
    }
    int32_t rc = strand_log_replace_segments(log_, bases.data(), bases.size(), path.c_str());
    if (rc != STRAND_OK) ThrowStatus(env, rc);
    return env.Undefined();
  }

  // replaceSegmentsAsync(bases, cleanedLogPath): Promise<void>; the same call in the libuv
  // pool (the engine holds the log's lock only for the renames). close() waits for it.
  Napi::Value ReplaceSegmentsAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (log_ == nullptr || terminal_) return RejectedPromise(env, STRAND_E_CLOSED, "the log is closed");
    std::vector<int64_t> bases;
    std::string path;
    if (!ReadReplaceArgs(info, &bases, &path)) {
      return RejectedPromise(env, STRAND_E_INVALID_ARG, "replaceSegmentsAsync(oldBaseOffsets: number[], cleanedLogPath: string)");
    }
    auto* worker = new LogWorker(env, this, log_, LogWorker::Kind::Replace, 0);
    worker->SetReplace(std::move(bases), std::move(path));
    inflight_++;
    Napi::Promise p = worker->Promise();
    worker->Queue();
    return p;
  }

  Napi::Value SetStartOffset(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Live(env)) return env.Undefined();
    if (!IsNumbers(info, 0, 1)) {
      ThrowArg(env, "setStartOffset(offset)");
      return env.Undefined();
    }
    int32_t rc = strand_log_set_start_offset(log_, ToInt64(info[0]));
    if (rc != STRAND_OK) ThrowStatus(env, rc);
    return env.Undefined();
  }

  Napi::Value Roll(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Live(env)) return env.Undefined();
    int32_t rc = strand_log_roll(log_);
    if (rc != STRAND_OK) ThrowStatus(env, rc);
    return env.Undefined();
  }

  // segments(): Float64Array [baseOffset, sizeBytes, largestTimestamp, createdMs, lastModifiedMs, isActive]*n.
  Napi::Value Segments(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Live(env)) return env.Undefined();
    std::vector<strand_segment_info> segs(16);
    size_t n = 0;
    for (;;) {
      int32_t rc = strand_log_segments(log_, segs.data(), segs.size(), &n);
      if (rc != STRAND_OK) {
        ThrowStatus(env, rc);
        return env.Undefined();
      }
      if (n <= segs.size()) break;
      segs.resize(n);
    }
    constexpr size_t kStride = 6;  // SEGMENT_STRIDE in src/storage/native.ts
    Napi::Float64Array out = Napi::Float64Array::New(env, n * kStride);
    for (size_t i = 0; i < n; i++) {
      out[i * kStride] = static_cast<double>(segs[i].base_offset);
      out[i * kStride + 1] = static_cast<double>(segs[i].size_bytes);
      out[i * kStride + 2] = static_cast<double>(segs[i].largest_timestamp);
      out[i * kStride + 3] = static_cast<double>(segs[i].created_ms);
      out[i * kStride + 4] = static_cast<double>(segs[i].last_modified_ms);
      out[i * kStride + 5] = segs[i].is_active;
    }
    return out;
  }

  Napi::Value Configure(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Live(env)) return env.Undefined();
    strand_log_config cfg{};
    if (!ReadConfig(info[0], &cfg)) {
      ThrowArg(env, "configure(config: Float64Array)");
      return env.Undefined();
    }
    int32_t rc = strand_log_configure(log_, &cfg);
    if (rc != STRAND_OK) ThrowStatus(env, rc);
    return env.Undefined();
  }

  // flush(): Promise<void>; fsync in the libuv pool while the JS thread keeps appending.
  Napi::Value Flush(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (log_ == nullptr || terminal_) return RejectedPromise(env, STRAND_E_CLOSED, "the log is closed");
    auto* worker = new LogWorker(env, this, log_, LogWorker::Kind::Flush, 0);
    inflight_++;
    Napi::Promise p = worker->Promise();
    worker->Queue();
    return p;
  }

  // close(clean): Promise<void>. The handle is retired at once (later calls fail CLOSED);
  // the engine call waits for in-flight flushes, which still use it.
  Napi::Value Close(const Napi::CallbackInfo& info) { return Terminal(info, LogWorker::Kind::Close); }
  Napi::Value Delete(const Napi::CallbackInfo& info) { return Terminal(info, LogWorker::Kind::Delete); }

  Napi::Value Terminal(const Napi::CallbackInfo& info, LogWorker::Kind kind) {
    Napi::Env env = info.Env();
    if (log_ == nullptr || terminal_) return RejectedPromise(env, STRAND_E_CLOSED, "the log is closed");
    terminal_ = true;
    terminalKind_ = kind;
    terminalClean_ = info.Length() > 0 && info[0].ToBoolean() ? 1 : 0;
    terminalDeferred_ = std::make_unique<Napi::Promise::Deferred>(env);
    Napi::Promise p = terminalDeferred_->Promise();
    StartPendingTerminal(env);
    return p;
  }

  void StartPendingTerminal(Napi::Env env) {
    if (!terminal_ || inflight_ > 0 || log_ == nullptr || !terminalDeferred_) return;
    strand_log* log = log_;
    log_ = nullptr;  // the worker frees the handle
    auto* worker = new LogWorker(env, this, log, terminalKind_, terminalClean_);
    Napi::Promise inner = worker->Promise();
    worker->Queue();
    // Chain the worker's promise into the one returned by close()/delete().
    auto deferred = std::move(terminalDeferred_);
    auto* raw = deferred.release();
    Napi::Function onOk = Napi::Function::New(env, [raw](const Napi::CallbackInfo& i) {
      raw->Resolve(i.Env().Undefined());
      delete raw;
    });
    Napi::Function onErr = Napi::Function::New(env, [raw](const Napi::CallbackInfo& i) {
      raw->Reject(i[0]);
      delete raw;
    });
    inner.Get("then").As<Napi::Function>().Call(inner, {onOk, onErr});
  }

  strand_log* log_ = nullptr;
  // The append thread of this log: logs are spread over them in order of creation.
  uint32_t lane_ = nextLane_++;
  static inline std::atomic<uint32_t> nextLane_{0};
  F64Slot result_;
  F64Slot regions_;
  std::vector<strand_region> scratch_;
  size_t inflight_ = 0;
  bool terminal_ = false;
  LogWorker::Kind terminalKind_ = LogWorker::Kind::Close;
  int32_t terminalClean_ = 0;
  std::unique_ptr<Napi::Promise::Deferred> terminalDeferred_;
};

LogWorker::LogWorker(Napi::Env env, NativeLog* owner, strand_log* log, Kind kind, int32_t clean)
    : Napi::AsyncWorker(env, "strand.log"),
      deferred_(Napi::Promise::Deferred::New(env)),
      owner_(owner),
      keepAlive_(Napi::Persistent(owner->Value())),
      log_(log),
      kind_(kind),
      clean_(clean) {}

void LogWorker::Execute() {
  switch (kind_) {
    case Kind::Flush: status_ = strand_log_flush(log_); break;
    case Kind::Replace: status_ = strand_log_replace_segments(log_, bases_.data(), bases_.size(), path_.c_str()); break;
    case Kind::Close: status_ = strand_log_close(log_, clean_); break;
    case Kind::Delete: status_ = strand_log_delete(log_); break;
  }
  if (status_ != STRAND_OK) message_ = LastError(status_);  // thread-local: read it here
}

void LogWorker::OnOK() {
  Napi::Env env = Env();
  if (status_ == STRAND_OK) {
    deferred_.Resolve(env.Undefined());
  } else {
    deferred_.Reject(MakeError(env, status_, message_));
  }
  owner_->WorkerDone(env, kind_);
}

// ---- sendfile -------------------------------------------------------------------------

// Work in flight keeps the event loop alive through the tsfn's ref (JS thread only).
void RefPending(Napi::Env env, AsyncState& state) {
  if (state.pending++ == 0) napi_ref_threadsafe_function(env, state.tsfn);
}

void UnrefPending(Napi::Env env, AsyncState& state) {
  if (state.pending > 0 && --state.pending == 0) napi_unref_threadsafe_function(env, state.tsfn);
}

void SendComplete(Napi::Env env, void* item) {
  std::unique_ptr<SendCtx> ctx(static_cast<SendCtx*>(item));
  UnrefPending(env, *ctx->state);
  if (ctx->status == STRAND_OK) {
    napi_resolve_deferred(env, ctx->deferred, Napi::Number::New(env, static_cast<double>(ctx->bytesSent)));
  } else {
    napi_reject_deferred(env, ctx->deferred, MakeError(env, ctx->status, ctx->message));
  }
}

// Hands `ctx` to the JS thread; false when the environment is gone (the caller keeps it).
bool PostCompletion(AsyncState& state, void* ctx) {
  std::lock_guard<std::mutex> lock(state.mu);
  if (!state.alive) return false;
  state.ready.push_back(ctx);
  if (state.ready.size() > 1) return true;  // the call that will take it is already queued
  if (napi_call_threadsafe_function(state.tsfn, nullptr, napi_tsfn_nonblocking) == napi_ok) return true;
  state.ready.pop_back();
  return false;
}

// The tsfn's callback: completes every item queued so far. With the environment torn down
// the items are left: their references can no longer be deleted, nobody awaits them.
void DrainCompletions(napi_env rawEnv, napi_value, void* context, void*) {
  if (rawEnv == nullptr) return;
  auto* state = static_cast<AsyncState*>(context);
  std::vector<void*> items;
  {
    std::lock_guard<std::mutex> lock(state->mu);
    items.swap(state->ready);
  }
  Napi::Env env(rawEnv);
  for (void* item : items) {
    Napi::HandleScope scope(env);
    state->complete(env, item);
  }
}

// Runs on the engine's epoll thread.
extern "C" void SendDone(void* raw, int32_t status, uint64_t bytesSent, const char* msg) {
  auto* ctx = static_cast<SendCtx*>(raw);
  ctx->status = status;
  ctx->bytesSent = bytesSent;
  if (status != STRAND_OK && msg != nullptr) ctx->message = msg;
  std::shared_ptr<AsyncState> state = ctx->state;
  if (!PostCompletion(*state, ctx)) delete ctx;
}

void AsyncStateCleanup(void* arg) {
  auto* holder = static_cast<std::shared_ptr<AsyncState>*>(arg);
  {
    std::lock_guard<std::mutex> lock((*holder)->mu);
    (*holder)->alive = false;
  }
  delete holder;
}

AsyncState* EnsureAsyncState(Napi::Env env, std::shared_ptr<AsyncState>& slot, const char* name, CompleteFn complete) {
  if (slot) return slot.get();
  auto state = std::make_shared<AsyncState>();
  state->complete = complete;
  napi_value resource = Napi::String::New(env, name);
  // The context is the state itself: the AddonData's reference keeps it as long as the env.
  napi_status st = napi_create_threadsafe_function(env, nullptr, nullptr, resource, 0, 1, nullptr, nullptr, state.get(),
                                                   DrainCompletions, &state->tsfn);
  if (st != napi_ok) return nullptr;
  napi_unref_threadsafe_function(env, state->tsfn);  // only work in flight keeps the loop alive
  // Registered after the tsfn, so it runs before the tsfn's own teardown.
  napi_add_env_cleanup_hook(env, AsyncStateCleanup, new std::shared_ptr<AsyncState>(state));
  slot = state;
  return state.get();
}

// ---- appends --------------------------------------------------------------------------

void AppendComplete(Napi::Env env, void* item) {
  auto* ctx = static_cast<AppendCtx*>(item);
  std::unique_ptr<AppendCtx> owned(ctx);
  UnrefPending(env, *ctx->state);
  if (ctx->status == STRAND_OK) {
    Napi::Float64Array out = Napi::Float64Array::New(env, 10);
    FillAppendResult(ctx->result, out.Data());
    out[9] = static_cast<double>(strand_files_parked());
    napi_resolve_deferred(env, ctx->deferred, out);
  } else {
    napi_reject_deferred(env, ctx->deferred, MakeError(env, ctx->status, ctx->message));
  }
  napi_delete_reference(env, ctx->bufRef);
  NativeLog* owner = ctx->owner;
  owner->inflight_--;
  owner->StartPendingTerminal(env);
  napi_delete_reference(env, ctx->ownerRef);  // last: it may let the wrapper be collected
}

// Runs on an append thread. When the environment is gone ctx is left (see DrainCompletions).
extern "C" void AppendDone(void* raw, int32_t status, const strand_append_result* result, const char* msg) {
  auto* ctx = static_cast<AppendCtx*>(raw);
  ctx->status = status;
  if (status == STRAND_OK && result != nullptr) ctx->result = *result;
  if (status != STRAND_OK && msg != nullptr) ctx->message = msg;
  std::shared_ptr<AsyncState> state = ctx->state;
  PostCompletion(*state, ctx);
}

Napi::Value NativeLog::AppendAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (log_ == nullptr || terminal_) return RejectedPromise(env, STRAND_E_CLOSED, "the log is closed");
  if (info.Length() < 5 || !info[0].IsBuffer() || !IsNumbers(info, 1, 5)) {
    return RejectedPromise(env, STRAND_E_INVALID_ARG, "appendAsync(buffer, leaderEpoch, timestampType, nowMs, maxBatchBytes)");
  }
  AddonData* data = Data(env);
  AsyncState* state = EnsureAsyncState(env, data->append, "strand.append", AppendComplete);
  if (state == nullptr) return RejectedPromise(env, STRAND_E_IO, "appendAsync: cannot create the completion function");
  Napi::Buffer<uint8_t> buf = info[0].As<Napi::Buffer<uint8_t>>();
  auto* ctx = new AppendCtx();
  ctx->state = data->append;
  ctx->owner = this;
  napi_value promise;
  napi_create_promise(env, &ctx->deferred, &promise);
  napi_create_reference(env, buf, 1, &ctx->bufRef);
  napi_create_reference(env, Value(), 1, &ctx->ownerRef);
  inflight_++;
  RefPending(env, *state);
  int32_t rc = strand_log_append_submit(log_, buf.Data(), buf.Length(), info[1].As<Napi::Number>().Int32Value(),
                                        info[2].As<Napi::Number>().Int32Value(), ToInt64(info[3]),
                                        info[4].As<Napi::Number>().Int32Value(), lane_, AppendDone, ctx);
  if (rc != STRAND_OK) {
    // The engine will not call back.
    UnrefPending(env, *state);
    inflight_--;
    napi_reject_deferred(env, ctx->deferred, MakeError(env, rc, LastError(rc)));
    napi_delete_reference(env, ctx->bufRef);
    napi_delete_reference(env, ctx->ownerRef);
    delete ctx;
  }
  return Napi::Value(env, promise);
}

// sendfile(socketFd, regions: Float64Array [fd, position, length]*n, n, timeoutMs): Promise<bytes>.
// Duplicates the socket fd and each distinct file fd here, on the JS thread, so the
// transfer is immune to JS closing either while it runs.
Napi::Value Sendfile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber() ||
      !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    return RejectedPromise(env, STRAND_E_INVALID_ARG, "sendfile(socketFd, regions: Float64Array, n, timeoutMs)");
  }
  Napi::Float64Array arr = info[1].As<Napi::Float64Array>();
  double nD = info[2].As<Napi::Number>().DoubleValue();
  if (!(nD >= 0) || nD * 3 > static_cast<double>(arr.ElementLength())) {
    return RejectedPromise(env, STRAND_E_INVALID_ARG, "sendfile: n exceeds the regions given");
  }
  size_t n = static_cast<size_t>(nD);
  const double* src = arr.Data();
  for (size_t i = 0; i < n; i++) {
    double position = src[i * 3 + 1], length = src[i * 3 + 2];
    if (!(position >= 0 && position <= 4294967295.0) || !(length >= 0 && length <= 4294967295.0)) {
      return RejectedPromise(env, STRAND_E_INVALID_ARG, "sendfile: region position or length out of range");
    }
  }
  AsyncState* state = EnsureAsyncState(env, Data(env)->send, "strand.sendfile", SendComplete);
  if (state == nullptr) return RejectedPromise(env, STRAND_E_IO, "sendfile: cannot create the completion function");
  int32_t socketFd = strand_dup_fd(info[0].As<Napi::Number>().Int32Value());
  if (socketFd < 0) return RejectedPromise(env, socketFd, "sendfile: socket: " + LastError(socketFd));
  std::vector<strand_send_region> regions(n);
  std::vector<int32_t> owned;  // distinct dups made so far, closed if a later dup fails
  for (size_t i = 0; i < n; i++) {
    int32_t fd = static_cast<int32_t>(src[i * 3]);
    int32_t dup = -1;
    for (size_t j = 0; j < i && dup < 0; j++) {
      if (static_cast<int32_t>(src[j * 3]) == fd) dup = regions[j].file_fd;
    }
    if (dup < 0) {
      dup = strand_dup_fd(fd);
      if (dup < 0) {
        std::string msg = "sendfile: file: " + LastError(dup);
        close(socketFd);
        for (int32_t o : owned) close(o);
        return RejectedPromise(env, dup, msg);
      }
      owned.push_back(dup);
    }
    regions[i].file_fd = dup;
    regions[i].position = static_cast<uint32_t>(src[i * 3 + 1]);
    regions[i].length = static_cast<uint32_t>(src[i * 3 + 2]);
  }
  auto* ctx = new SendCtx();
  napi_value promise;
  napi_create_promise(env, &ctx->deferred, &promise);
  ctx->state = Data(env)->send;
  RefPending(env, *state);
  int32_t rc = strand_sendfile_submit(socketFd, regions.data(), n, ToInt64(info[3]), SendDone, ctx);
  if (rc != STRAND_OK) {
    // The engine closed the fds and will not call back.
    UnrefPending(env, *state);
    napi_reject_deferred(env, ctx->deferred, MakeError(env, rc, LastError(rc)));
    delete ctx;
  }
  return Napi::Value(env, promise);
}

Napi::Value DupFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) {
    ThrowArg(env, "dupFd(fd)");
    return env.Undefined();
  }
  int32_t fd = strand_dup_fd(info[0].As<Napi::Number>().Int32Value());
  if (fd < 0) {
    ThrowStatus(env, fd);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  if (info[0].IsNumber()) close(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

// crc32c(buffer, crc = 0): the CRC-32C of the buffer, continuing from crc.
Napi::Value Crc32c(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer() && !info[0].IsTypedArray()) {
    ThrowArg(env, "crc32c(buffer, crc?)");
    return env.Undefined();
  }
  Napi::TypedArray arr = info[0].As<Napi::TypedArray>();
  const uint8_t* data = BytesOf(arr);
  uint32_t crc = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 0;
  return Napi::Number::New(env, strand_crc32c(crc, data, arr.ByteLength()));
}

// checkRecords(batch, minTimestampMs, maxTimestampMs, requireKey): strand_check_records.
Napi::Value CheckRecords(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsTypedArray() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsBoolean()) {
    ThrowArg(env, "checkRecords(batch, minTimestampMs, maxTimestampMs, requireKey)");
    return env.Undefined();
  }
  Napi::TypedArray arr = info[0].As<Napi::TypedArray>();
  const uint8_t* data = BytesOf(arr);
  int32_t code = strand_check_records(data, arr.ByteLength(), info[1].As<Napi::Number>().DoubleValue(), info[2].As<Napi::Number>().DoubleValue(),
                                      info[3].As<Napi::Boolean>().Value() ? 1 : 0);
  return Napi::Number::New(env, code);
}

// pread(fd, buffer, position): fills the whole buffer from the file at position.
Napi::Value Pread(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsBuffer() || !info[2].IsNumber()) {
    ThrowArg(env, "pread(fd, buffer, position)");
    return env.Undefined();
  }
  Napi::Buffer<uint8_t> buf = info[1].As<Napi::Buffer<uint8_t>>();
  double position = info[2].As<Napi::Number>().DoubleValue();
  if (!(position >= 0 && position <= 4294967295.0) || buf.Length() > UINT32_MAX) {
    ThrowArg(env, "pread: position or length out of range");
    return env.Undefined();
  }
  int32_t rc = strand_pread(info[0].As<Napi::Number>().Int32Value(), buf.Data(), static_cast<uint32_t>(position),
                            static_cast<uint32_t>(buf.Length()));
  if (rc != STRAND_OK) ThrowStatus(env, rc);
  return env.Undefined();
}

Napi::Object FilesStatsObject(Napi::Env env, const strand_files_stats& st) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("openSegments", static_cast<double>(st.open_segments));
  o.Set("parkedFds", static_cast<double>(st.parked_fds));
  o.Set("limit", static_cast<double>(st.limit));
  o.Set("openedTotal", static_cast<double>(st.opened_total));
  o.Set("evictedTotal", static_cast<double>(st.evicted_total));
  o.Set("idleClosedTotal", static_cast<double>(st.idle_closed_total));
  return o;
}

// filesSetLimit(maxOpenSegments): 0 for none.
Napi::Value FilesSetLimit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !(info[0].As<Napi::Number>().DoubleValue() >= 0)) {
    ThrowArg(env, "filesSetLimit(maxOpenSegments >= 0)");
    return env.Undefined();
  }
  int32_t rc = strand_files_set_limit(static_cast<uint64_t>(ToInt64(info[0])));
  if (rc != STRAND_OK) ThrowStatus(env, rc);
  return env.Undefined();
}

// filesSweep(nowMs, idleMs): ends the read epoch (call from the event loop, never between a
// read and the dup of its regions), closes parked fds and idle segments; returns the stats.
Napi::Value FilesSweep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!IsNumbers(info, 0, 2)) {
    ThrowArg(env, "filesSweep(nowMs, idleMs)");
    return env.Undefined();
  }
  strand_files_stats st{};
  int32_t rc = strand_files_sweep(ToInt64(info[0]), ToInt64(info[1]), &st);
  if (rc != STRAND_OK) {
    ThrowStatus(env, rc);
    return env.Undefined();
  }
  return FilesStatsObject(env, st);
}

Napi::Value FilesStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  strand_files_stats st{};
  int32_t rc = strand_files_get_stats(&st);
  if (rc != STRAND_OK) {
    ThrowStatus(env, rc);
    return env.Undefined();
  }
  return FilesStatsObject(env, st);
}

// nofileLimit(raise): { soft, hard } of RLIMIT_NOFILE (-1 for unlimited), after raising the
// soft limit to the hard one when asked.
Napi::Value NofileLimit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t soft = 0, hard = 0;
  int32_t rc = strand_nofile_limit(info.Length() > 0 && info[0].ToBoolean() ? 1 : 0, &soft, &hard);
  if (rc != STRAND_OK) {
    ThrowStatus(env, rc);
    return env.Undefined();
  }
  auto num = [](uint64_t v) { return v == UINT64_MAX ? -1.0 : static_cast<double>(v); };
  Napi::Object o = Napi::Object::New(env);
  o.Set("soft", num(soft));
  o.Set("hard", num(hard));
  return o;
}

// mallocTune(arenaMax, mmapThresholdBytes) -> applied (false where the libc has no mallopt).
Napi::Value MallocTune(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    ThrowArg(env, "mallocTune(arenaMax, mmapThresholdBytes)");
    return env.Undefined();
  }
  int32_t rc = strand_malloc_tune(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value());
  return Napi::Boolean::New(env, rc == 1);
}

// setErrorClass(StorageError): errors are built as new StorageError(code, message).
Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction()) {
    ThrowArg(env, "setErrorClass(constructor)");
    return env.Undefined();
  }
  Data(env)->errorClass = Napi::Persistent(info[0].As<Napi::Function>());
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonData());
  exports.Set("NativeLog", NativeLog::Define(env));
  exports.Set("sendfile", Napi::Function::New(env, Sendfile, "sendfile"));
  exports.Set("dupFd", Napi::Function::New(env, DupFd, "dupFd"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
  exports.Set("crc32c", Napi::Function::New(env, Crc32c, "crc32c"));
  exports.Set("checkRecords", Napi::Function::New(env, CheckRecords, "checkRecords"));
  exports.Set("pread", Napi::Function::New(env, Pread, "pread"));
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass, "setErrorClass"));
  exports.Set("filesSetLimit", Napi::Function::New(env, FilesSetLimit, "filesSetLimit"));
  exports.Set("filesSweep", Napi::Function::New(env, FilesSweep, "filesSweep"));
  exports.Set("filesStats", Napi::Function::New(env, FilesStats, "filesStats"));
  exports.Set("nofileLimit", Napi::Function::New(env, NofileLimit, "nofileLimit"));
  exports.Set("mallocTune", Napi::Function::New(env, MallocTune, "mallocTune"));
  return exports;
}

}  // namespace

NODE_API_MODULE(strand, Init)
