import ParityHDF5
import ParityTensor
import Testing

/// Files whose global heap collection (where variable-length strings live) was patched. libhdf5
/// 1.10.8 alone returns wrong strings or crashes on the first and loops forever on the second.
@Suite("Global heap check: corrupt variable-length storage is refused, not handed to libhdf5")
struct GlobalHeapCheckTests {
    @Test func oversizedHeapObject() throws {
        let file = try HDF5Fixture.open("corrupt_heap_size.h5")
        let error = expectHDF5Error("corrupt file: global heap collection at byte 2048: object 1 at offset 16 claims 1000000 bytes",
                                    "variable-length data is not read", "attribute 'model_config'") {
            _ = try file.attribute("model_config")
        }
        guard case .corruptFile? = error else { Issue.record("got \(String(describing: error))"); return }
        // What does not touch the heap still reads.
        #expect(try file.dataset(at: "model_weights/dense/dense/kernel:0").readTensor().shape == [4, 3])
        #expect(try file.attributeNames.count == 4)
    }

    @Test func zeroSizedFreeSpace() throws {
        let file = try HDF5Fixture.open("corrupt_heap_loop.h5")
        expectHDF5Error("global heap collection at byte 2048: free-space object of size 0", "attribute 'layer_names'") {
            _ = try file.group(at: "model_weights").attribute("layer_names")
        }
    }

    @Test func consistentHeapsRead() throws {
        #expect(try HDF5Fixture.open("legacy_model.h5").attribute("backend") == .string("tensorflow"))
    }
}
