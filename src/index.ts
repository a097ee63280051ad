import { y } from "./a/b"; import pino from "pino"; import { Piscina } from "piscina"; export const x: number = y; void pino; void Piscina;
