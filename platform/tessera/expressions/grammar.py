"""The formula grammar (lark, LALR).

Precedence, loosest first: ``||``; ``&&``; comparisons (not chainable); ``&``;
``+ -``; ``* /``; unary ``- + !``; ``^`` (right associative, binds tighter than unary
minus, so ``-2^2`` is -4). Function names, TRUE, FALSE and NULL are matched
case-insensitively by the parser; field paths are NAME tokens containing dots.
"""

GRAMMAR = r"""
?start: expr

?expr: or_expr

?or_expr: and_expr
        | or_expr OROR and_expr                 -> binary

?and_expr: comparison
         | and_expr ANDAND comparison           -> binary

?comparison: concat
           | concat _comp_op concat             -> binary

_comp_op: EQ | EQEQ | LTGT | BANGEQ | LT | LE | GT | GE

?concat: additive
       | concat AMP additive                    -> binary

?additive: multiplicative
         | additive _add_op multiplicative      -> binary

_add_op: PLUS | MINUS

?multiplicative: unary
               | multiplicative _mul_op unary   -> binary

_mul_op: STAR | SLASH

?unary: power
      | _unary_op unary                         -> unary

_unary_op: MINUS | PLUS | BANG

?power: atom
      | atom CARET unary                        -> binary

?atom: NUMBER                                   -> number
     | STRING                                   -> string
     | NAME                                     -> name
     | NAME LPAR _args? RPAR                    -> call
     | LPAR expr RPAR                           -> group

_args: expr (COMMA expr)*

NAME: /[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/
NUMBER: /[0-9]+(\.[0-9]+)?/
STRING: /'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/s

OROR: "||"
ANDAND: "&&"
EQ: "="
EQEQ: "=="
LTGT: "<>"
BANGEQ: "!="
LT: "<"
LE: "<="
GT: ">"
GE: ">="
AMP: "&"
PLUS: "+"
MINUS: "-"
STAR: "*"
SLASH: "/"
CARET: "^"
BANG: "!"
LPAR: "("
RPAR: ")"
COMMA: ","

COMMENT: /\/\*.*?\*\//s
%ignore COMMENT
%ignore /[ \t\r\n\f]+/
"""
