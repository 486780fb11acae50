import Testing
@testable import GANPlot

@Suite struct TicksTests {
    func close(_ a: [Double], _ b: [Double]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-12 * max(1, abs($1)) }
    }

    @Test func unitRange() {
        let t = Ticks.ticks(0, 1, maxCount: 8)
        #expect(close(t, [0, 0.2, 0.4, 0.6, 0.8, 1]))
        #expect(Ticks.labels(for: t) == ["0", "0.2", "0.4", "0.6", "0.8", "1"])
    }

    @Test func negativeToPositive() {
        let t = Ticks.ticks(-3.7, 12.2, maxCount: 8)
        #expect(close(t, [-2, 0, 2, 4, 6, 8, 10, 12]))
        #expect(Ticks.labels(for: t) == ["-2", "0", "2", "4", "6", "8", "10", "12"])
        let u = Ticks.ticks(-3.7, 12.2, maxCount: 4)
        #expect(close(u, [0, 5, 10]))
    }

    @Test func smallMagnitudes() {
        let t = Ticks.ticks(1e-4, 5e-4, maxCount: 8)
        #expect(close(t, [1e-4, 2e-4, 3e-4, 4e-4, 5e-4]))
        #expect(Ticks.labels(for: t) == ["1e-4", "2e-4", "3e-4", "4e-4", "5e-4"])
        let m = Ticks.ticks(0, 0.003, maxCount: 4)
        #expect(close(m, [0, 0.001, 0.002, 0.003]))
        #expect(Ticks.labels(for: m) == ["0", "0.001", "0.002", "0.003"])
        #expect(Ticks.labels(for: Ticks.ticks(-0.05, 0.05, maxCount: 5)) == ["-0.04", "-0.02", "0", "0.02", "0.04"])
    }

    @Test func largeMagnitudes() {
        let t = Ticks.ticks(0, 3e5, maxCount: 7)
        #expect(close(t, [0, 5e4, 1e5, 1.5e5, 2e5, 2.5e5, 3e5]))
        #expect(Ticks.labels(for: t) == ["0", "5e4", "1e5", "1.5e5", "2e5", "2.5e5", "3e5"])
        #expect(Ticks.labels(for: Ticks.ticks(0, 20_000, maxCount: 5)) == ["0", "5000", "10000", "15000", "20000"])
        #expect(Ticks.labels(for: Ticks.ticks(-2e6, -1e6, maxCount: 3)) == ["-2e6", "-1.5e6", "-1e6"])
    }

    @Test func offsetRangeKeepsDecimals() {
        let t = Ticks.ticks(3.21, 3.29, maxCount: 5)
        #expect(close(t, [3.22, 3.24, 3.26, 3.28]))
        #expect(Ticks.labels(for: t) == ["3.22", "3.24", "3.26", "3.28"])
        #expect(Ticks.labels(for: Ticks.ticks(0, 2.5, maxCount: 6)) == ["0", "0.5", "1", "1.5", "2", "2.5"])
    }

    @Test func degenerateRangesDoNotCrash() {
        #expect(!Ticks.ticks(0, 0).isEmpty)
        #expect(Ticks.ticks(5, 5).contains(5))
        #expect(Ticks.ticks(-2e-7, -2e-7).count >= 1)
        #expect(!Ticks.ticks(.nan, 1).isEmpty)
        #expect(!Ticks.ticks(-.infinity, .infinity).isEmpty)
        #expect(close(Ticks.ticks(1, 0, maxCount: 8), Ticks.ticks(0, 1, maxCount: 8)))  // reversed bounds
        #expect(Ticks.usableRange(3, 3) == 2.7...3.3)
        #expect(Ticks.usableRange(0, 0) == -1...1)
        #expect(Ticks.ticks(0, 1, maxCount: 0).count <= 2)
    }

    @Test func compactNumbers() {
        #expect(Ticks.compact(0) == "0")
        #expect(Ticks.compact(0.25) == "0.25")
        #expect(Ticks.compact(-1234.5678) == "-1235")
        #expect(Ticks.compact(3.14159) == "3.142")
        #expect(Ticks.compact(123_456) == "1.235e5")
        #expect(Ticks.compact(0.000123) == "1.23e-4")
        #expect(Ticks.compact(.nan) == "nan")
    }
}
