import Foundation

/// Sprig's arithmetic and conversions: integer functions return int64, `*f` functions float64,
/// arguments converted as spf13/cast converts them.
enum SprigNumbers {
    static var all: [String: TemplateFunction] {
        [
            "add": { args in .int64(args.reduce(0) { $0 &+ castInt($1) }) },
            "add1": { args in .int64(castInt(try Arguments("add1", args, count: 1)[0]) &+ 1) },
            "sub": { args in
                let a = try Arguments("sub", args, count: 2)
                return .int64(castInt(a[0]) &- castInt(a[1]))
            },
            "mul": { args in
                let a = try Arguments("mul", args, atLeast: 1)
                return .int64(a.values.reduce(1) { $0 &* castInt($1) })
            },
            "div": { args in
                let a = try Arguments("div", args, count: 2)
                let divisor = castInt(a[1])
                guard divisor != 0 else { throw FunctionError("runtime error: integer divide by zero") }
                return .int64(castInt(a[0]) / divisor)
            },
            "mod": { args in
                let a = try Arguments("mod", args, count: 2)
                let divisor = castInt(a[1])
                guard divisor != 0 else { throw FunctionError("runtime error: integer divide by zero") }
                return .int64(castInt(a[0]) % divisor)
            },
            "max": { args in
                let a = try Arguments("max", args, atLeast: 1)
                return .int64(a.values.map(castInt).max()!)
            },
            "min": { args in
                let a = try Arguments("min", args, atLeast: 1)
                return .int64(a.values.map(castInt).min()!)
            },
            "addf": { args in .float(args.reduce(0) { $0 + castFloat($1) }) },
            "add1f": { args in .float(castFloat(try Arguments("add1f", args, count: 1)[0]) + 1) },
            "subf": { args in
                let a = try Arguments("subf", args, atLeast: 1)
                return .float(a.values.dropFirst().reduce(castFloat(a[0])) { $0 - castFloat($1) })
            },
            "mulf": { args in
                let a = try Arguments("mulf", args, atLeast: 1)
                return .float(a.values.reduce(1) { $0 * castFloat($1) })
            },
            "divf": { args in
                let a = try Arguments("divf", args, atLeast: 1)
                return .float(a.values.dropFirst().reduce(castFloat(a[0])) { $0 / castFloat($1) })
            },
            "maxf": { args in .float(args.map(castFloat).max() ?? 0) },
            "minf": { args in .float(args.map(castFloat).min() ?? 0) },
            "floor": { args in .float(Foundation.floor(castFloat(try Arguments("floor", args, count: 1)[0]))) },
            "ceil": { args in .float(Foundation.ceil(castFloat(try Arguments("ceil", args, count: 1)[0]))) },
            "round": { args in
                let a = try Arguments("round", args, atLeast: 2)
                let places = castInt(a[1])
                let roundOn = a.count > 2 ? castFloat(a[2]) : 0.5
                let pow10 = Foundation.pow(10, Double(places))
                let digit = pow10 * castFloat(a[0])
                let (_, fraction) = modf(digit)
                let rounded = fraction >= roundOn ? Foundation.ceil(digit) : Foundation.floor(digit)
                return .float(rounded / pow10)
            },
            "int": { args in .integer(Int(castInt(try Arguments("int", args, count: 1)[0]))) },
            "int64": { args in .int64(castInt(try Arguments("int64", args, count: 1)[0])) },
            "float64": { args in .float(castFloat(try Arguments("float64", args, count: 1)[0])) },
            "toDecimal": { args in
                let text = stringValue(try Arguments("toDecimal", args, count: 1)[0])
                return .int64(Int64(text, radix: 8) ?? 0)
            },
            "biggest": { args in .int64(args.map(castInt).max() ?? 0) },
            "randInt": { args in
                let a = try Arguments("randInt", args, count: 2)
                let (low, high) = (castInt(a[0]), castInt(a[1]))
                return .integer(Int(high > low ? Int64.random(in: low..<high) : low))
            },
        ]
    }
}
