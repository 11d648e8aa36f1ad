# Loads vagrant/Vagrantfile with a stand-in for Vagrant's configuration API
# and prints, as JSON, the machines it defines: name, hostname, private
# network address and provisioning. For test/vagrant.test.ts (no Vagrant or
# hypervisor runs on the test machines).
require 'json'

class Recorder
  attr_reader :calls
  def initialize; @calls = {}; end
  def method_missing(name, *args, **kw, &block)
    key = name.to_s.chomp('=')
    if name.to_s.end_with?('=')
      @calls[key] = args.first
      return args.first
    end
    # `config.vm` names the same object every time; a call with arguments is recorded anew.
    return @calls[key][0]['sub'] if args.empty? && kw.empty? && block.nil? && @calls[key].is_a?(Array)
    sub = Recorder.new
    (@calls[key] ||= []) << { 'args' => args, 'kw' => kw.transform_keys(&:to_s), 'sub' => sub }
    block&.call(sub)
    sub
  end
  def respond_to_missing?(*) = true
  def to_h
    @calls.transform_values { |v| v.is_a?(Array) ? v.map { |c| c.merge('sub' => c['sub'].to_h) } : v }
  end
end

module Vagrant
  def self.configure(_version)
    config = Recorder.new
    yield config
    $config = config
  end
end

load ARGV.fetch(0)
machines = ($config.calls.dig('vm', 0, 'sub').calls['define'] || []).map do |d|
  vm = d['sub'].calls.dig('vm', 0, 'sub')
  {
    'name' => d['args'][0],
    'hostname' => vm.calls['hostname'],
    'network' => vm.calls['network'].map { |n| [n['args'][0], n['kw']['ip']] },
    'provision' => vm.calls['provision'].map { |p| [p['args'][0], p['kw']['path'], p['kw']['args']] }
  }
end
top = $config.calls.dig('vm', 0, 'sub')
puts JSON.generate({ 'box' => top.calls['box'], 'synced' => top.calls['synced_folder'].map { |s| [s['args'], s['kw']] }, 'machines' => machines })
