// JavaScript: classes with private methods, prototypes, exports, arrow functions.
'use strict'

class Pipeline extends Stream {
  #queue = []

  write (chunk) {
    this.#push(chunk)
  }

  #push (chunk) {
    this.#queue.push(chunk)
  }
}

function Legacy (opts) {
  this.opts = opts
}

Legacy.prototype.run = function (input) {
  return input
}

const compose = (...fns) => (x) => fns.reduce((v, f) => f(v), x)

module.exports = function pipeline (streams) {
  return new Pipeline(streams)
}
