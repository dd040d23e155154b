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

/// `HADDR_UNDEF`: the address `H5Dget_offset` returns for data that is not stored contiguously in the file.
static inline haddr_t chdf5_haddr_undef(void) { return HADDR_UNDEF; }

static inline hid_t chdf5_p_file_access(void) { return H5P_FILE_ACCESS; }

// File-image callbacks that hand libhdf5 the caller's buffer itself wherever it would allocate and copy
// the image (`udata` is the buffer): nothing is copied, resized or freed. What `H5LTopen_file_image`
// does with `H5LT_FILE_IMAGE_DONT_COPY | H5LT_FILE_IMAGE_DONT_RELEASE`, without hdf5_hl, and leaving
// `H5Fopen`'s error stack readable when the image is refused.
static void *chdf5_image_in_place(size_t size, H5FD_file_image_op_t op, void *udata) {
    (void)size; (void)op;
    return udata;
}
static void *chdf5_image_no_copy(void *dest, const void *src, size_t size, H5FD_file_image_op_t op, void *udata) {
    (void)size; (void)op; (void)udata;
    return dest == src ? dest : NULL;  // NULL fails the call: a copy elsewhere was never handed out
}
static void *chdf5_image_no_resize(void *ptr, size_t size, H5FD_file_image_op_t op, void *udata) {
    (void)ptr; (void)size; (void)op; (void)udata;
    return NULL;  // a read-only file never grows
}
static herr_t chdf5_image_no_free(void *ptr, H5FD_file_image_op_t op, void *udata) {
    (void)ptr; (void)op; (void)udata;
    return 0;
}
static void *chdf5_image_udata_copy(void *udata) { return udata; }
static herr_t chdf5_image_udata_free(void *udata) { (void)udata; return 0; }

/// Sets up `fapl` to open the HDF5 file image of `size` bytes at `buffer`, in place: libhdf5's core
/// driver (no backing store) reads the bytes where they are, never past `size` (it zero-fills what a
/// read asks beyond; an image shorter than its superblock's end-of-file address is refused as
/// truncated), and neither writes nor frees them; the caller keeps them alive until
/// `H5Fclose`, and opens the file read-only.
static inline herr_t chdf5_set_image_in_place(hid_t fapl, const void *buffer, size_t size) {
    if (H5Pset_fapl_core(fapl, 1 << 16, 0) < 0) return -1;
    H5FD_file_image_callbacks_t callbacks = {
        chdf5_image_in_place, chdf5_image_no_copy, chdf5_image_no_resize, chdf5_image_no_free,
        chdf5_image_udata_copy, chdf5_image_udata_free, (void *)buffer,
    };
    if (H5Pset_file_image_callbacks(fapl, &callbacks) < 0) return -1;
    return H5Pset_file_image(fapl, (void *)buffer, size);
}

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
