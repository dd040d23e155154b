import Testing
@testable import ParityTrain

@Suite struct SpecTests {
    @Test func parsesCalls() throws {
        let calls = try SpecCall.parse("torch.optim.Adam(lr=1e-3, betas=(0.9, 0.99)) + clip_grad_norm_(1.0)")
        #expect(calls.count == 2)
        #expect(calls[0].name == "Adam" && calls[0].module == "torch.optim")
        #expect(calls[0].keywords.map(\.name) == ["lr", "betas"])
        #expect(calls[1].positional == [.number(1)])
    }
}
