# Ruby: nested modules, A::B class names, singleton methods, class << self.
module Bundler
  class CLI::Install < Base
    def run
      install
    end

    def self.defaults
      {}
    end

    class << self
      def current
        @current
      end
    end
  end
end

def Bundler.root
  "."
end
