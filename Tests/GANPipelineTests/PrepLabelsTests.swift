import Foundation
@testable import GANPipeline
import Testing

/// `data.label_column` (issue 22): prep splits a table's label column off, by CSV header name or
/// 0-based number, and refuses a missing column or a value that is no class label, naming both.
@Suite struct PrepLabelsTests {
    /// Three rows of (x, label, y).
    static let table: [Float] = [0.5, 1, -1,
                                 1.5, 0, -2,
                                 2.5, 2, -3]

    @Test func labelColumnByHeaderNameOrNumber() throws {
        let byName = try PrepStage.splitLabelColumn("label", shape: [3, 3], values: Self.table, header: ["x", "label", "y"], path: "t.csv")
        #expect(byName.shape == [3, 2] && byName.values == [0.5, -1, 1.5, -2, 2.5, -3] && byName.labels == [1, 0, 2])
        let byNumber = try PrepStage.splitLabelColumn("1", shape: [3, 3], values: Self.table, header: nil, path: "t.npy")
        #expect(byNumber.shape == byName.shape && byNumber.values == byName.values && byNumber.labels == byName.labels)
        let first = try PrepStage.splitLabelColumn("0", shape: [3, 3], values: [0, 7, 8, 1, 9, 10, 0, 11, 12], header: nil, path: "t.npy")
        #expect(first.values == [7, 8, 9, 10, 11, 12] && first.labels == [0, 1, 0])
    }

    @Test func badLabelColumnsNameTheFileAndColumn() {
        func message(_ column: String, _ values: [Float] = Self.table, shape: [Int] = [3, 3], header: [String]? = ["x", "label", "y"]) -> String {
            do {
                _ = try PrepStage.splitLabelColumn(column, shape: shape, values: values, header: header, path: "t.csv")
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(message("class").contains("t.csv") && message("class").contains("no column \"class\"")
                && message("class").contains("\"x\", \"label\", \"y\""), "\(message("class"))")
        #expect(message("3", header: nil).contains("column number in 0..<3"), "\(message("3", header: nil))")
        #expect(message("-1", header: nil).contains("no column \"-1\""), "\(message("-1", header: nil))")
        let fractional = message("x")   // column x holds 0.5: not a class label
        #expect(fractional.contains("row 1") && fractional.contains("expected a class label, an integer in 0...255, found 0.5"), "\(fractional)")
        let negative = message("y")
        #expect(negative.contains("found -1.0"), "\(negative)")
        #expect(message("0", [1, 2, 3], shape: [3, 1], header: nil).contains("at least 2 columns"))
    }
}
