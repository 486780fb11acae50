import Foundation
import GANEval
import Testing

@Suite struct ClassHistogramTests {
    @Test func uniformAndOneClass() {
        let uniform = ClassHistogram(predictions: Array(0..<10) + Array(0..<10), classes: 10)
        #expect(uniform.counts == [Int](repeating: 2, count: 10))
        #expect(uniform.classesCovered() == 10)
        #expect(abs(uniform.klFromUniform) < 1e-15)
        let collapsed = ClassHistogram(predictions: [3, 3, 3, 3], classes: 10)
        #expect(collapsed.classesCovered() == 1)
        #expect(abs(collapsed.klFromUniform - log(10.0)) < 1e-15)
    }

    @Test func exactValues() {
        // p = (1/2, 1/4, 1/4, 0): KL = 1/2 log 2 + 2 · 1/4 log 1 = log(2)/2.
        let h = ClassHistogram(counts: [2, 1, 1, 0])
        #expect(h.total == 4 && h.fractions == [0.5, 0.25, 0.25, 0])
        #expect(abs(h.klFromUniform - log(2.0) / 2) < 1e-15)
        #expect(h.classesCovered(minFraction: 0.01) == 3)
        #expect(h.classesCovered(minFraction: 0.25) == 3)
        #expect(h.classesCovered(minFraction: 0.26) == 1)
        // 1 of 200 predictions = 0.5 % < 1 %: not covered; 2 of 200 = 1 %: covered.
        let rare = ClassHistogram(counts: [197, 1, 2])
        #expect(rare.classesCovered(minFraction: 0.01) == 2)
        #expect(ClassHistogram(counts: [0, 0]).klFromUniform.isNaN)
    }
}
