/**
 * A codec's plain functions as a Schema. The hot paths call `decode` and `encode` directly; the Schema
 * built on them is the same codec for code that composes Schemas, with the codec's error text as the
 * parse issue. One place for what every codec module would otherwise write out again.
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

export const fromCodec = <A, I, IR, AR>(
  from: Schema.Schema<I, I, IR>,
  to: Schema.Schema<A, A, AR>,
  codec: {
    /** The value, or why not (one line). */
    readonly decode: (input: I) => Either.Either<A, string>
    readonly encode: (value: A) => I
  }
): Schema.Schema<A, I, IR | AR> =>
  Schema.transformOrFail(from, to, {
    strict: true,
    decode: (input, _, ast) =>
      Either.match(codec.decode(input), {
        onLeft: (why) => ParseResult.fail(new ParseResult.Type(ast, input, why)),
        onRight: ParseResult.succeed
      }),
    encode: (value) => ParseResult.succeed(codec.encode(value))
  })
