// The system libhdf5 (Debian `libhdf5-dev`, serial build), for ParityHDF5 only.
//
// HDF5's property-list, datatype and flag constants are macros that expand to an `H5open()` call
// plus a mutable global (`H5T_NATIVE_FLOAT` is `(H5open(), H5T_NATIVE_FLOAT_g)`); Swift imports
// neither form (and Swift 6 refuses the mutable globals), so each one used is returned by a
// `static inline` function here. Functions whose name or signature differs between libhdf5 1.10,
// 1.12 and 1.14 are wrapped here too, so the Swift side compiles against all of them.
#ifndef PARITY_CHDF5_SHIM_H
#define PARITY_CHDF5_SHIM_H

#include <hdf5.h>

static inline unsigned chdf5_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned chdf5_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline hid_t chdf5_p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t chdf5_p_group_create(void) { return H5P_GROUP_CREATE; }
static inline hid_t chdf5_p_default(void) { return H5P_DEFAULT; }
static inline hid_t chdf5_e_default(void) { return H5E_DEFAULT; }
static inline hid_t chdf5_s_all(void) { return H5S_ALL; }
static inline size_t chdf5_variable(void) { return H5T_VARIABLE; }

static inline hid_t chdf5_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t chdf5_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t chdf5_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t chdf5_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t chdf5_c_s1(void) { return H5T_C_S1; }

// Little-endian file types, as h5py writes numpy's native arrays on x86 and arm64.
static inline hid_t chdf5_ieee_f32le(void) { return H5T_IEEE_F32LE; }
static inline hid_t chdf5_ieee_f64le(void) { return H5T_IEEE_F64LE; }
static inline hid_t chdf5_std_i32le(void) { return H5T_STD_I32LE; }
static inline hid_t chdf5_std_i64le(void) { return H5T_STD_I64LE; }

/// Stops libhdf5 printing its error stack to stderr on every failed call (the stack is still
/// recorded and can be walked with `H5Ewalk2`).
static inline herr_t chdf5_silence_errors(void) { return H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

/// Frees the memory libhdf5 allocated for variable-length data read into `buf`.
static inline herr_t chdf5_reclaim(hid_t type_id, hid_t space_id, void *buf) {
#if H5_VERSION_GE(1, 12, 0)
    return H5Treclaim(type_id, space_id, H5P_DEFAULT, buf);
#else
    return H5Dvlen_reclaim(type_id, space_id, H5P_DEFAULT, buf);
#endif
}

#endif
