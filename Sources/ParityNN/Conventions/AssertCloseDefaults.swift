/// `torch.testing.assert_close`'s default tolerances (`torch/testing/_comparison.py`, `_DTYPE_PRECISIONS`):
/// `|actual − expected| ≤ atol + rtol·|expected|`, the bound a PyTorch user checks a port with. The
/// conversion proof and `parity compare` read them from here.
public enum AssertCloseDefaults {
    /// float32: rtol 1.3e-6, atol 1e-5.
    public static let float32 = (rtol: 1.3e-6, atol: 1e-5)
    /// float64: rtol 1e-7, atol 1e-7.
    public static let float64 = (rtol: 1e-7, atol: 1e-7)
}
