import { Opcode } from "../src/format";
export function op(): i32 { return Opcode.MEMMOVE; }
